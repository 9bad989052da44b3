"""Applications: list, create (the secret shown once), grant types, redirect URIs and
first-party flag, secret rotation, delete; all through :class:`ClientRegistry`, as the
management API and the CLI do."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from authserver.clients import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    DEFAULT_GRANT_TYPES,
    MFA_OOB,
    MFA_OTP,
    MFA_RECOVERY_CODE,
    MFA_WEBAUTHN,
    PASSKEY,
    PASSWORD,
    REFRESH_TOKEN,
)
from authserver.dashboard.web import bp, page
from authserver.errors import InvalidRequest
from authserver.extensions import services
from authserver.mfa.decision import APP_POLICIES
from authserver.mfa.groups import NAMEABLE_FACTORS
from authserver.models import Client

Page = tuple[str, int]
# What the MFA rule's form offers (README, MFA policies).
MFA_RULE_CHOICES = {"mfa_policies": APP_POLICIES, "nameable_factors": NAMEABLE_FACTORS}
GRANT_LABELS = {
    AUTHORIZATION_CODE: "Authorization code (users sign in on Protekt's pages in the browser)",
    PASSWORD: "Password (users log in with email and password)",
    REFRESH_TOKEN: "Refresh token",
    MFA_OTP: "MFA with an authenticator app code (mfa-otp)",
    MFA_OOB: "MFA with an SMS code (mfa-oob)",
    MFA_RECOVERY_CODE: "MFA with a recovery code (mfa-recovery-code)",
    MFA_WEBAUTHN: "MFA with a passkey or security key (mfa-webauthn)",
    PASSKEY: "Passwordless sign-in with a passkey (passkey)",
    CLIENT_CREDENTIALS: "Client credentials (a machine, e.g. the management API)",
}


@bp.get("/applications")
def applications() -> Page:
    return _listing()


@bp.post("/applications")
def create_application() -> Page:
    """Register the application and show its secret, this once (it is stored hashed)."""
    form = request.form
    try:
        client, secret = services.flows.client_administration.create(
            form.get("name", ""), public="public" in form,
            grant_types=form.getlist("grant_types"),
            scopes=form.get("scopes", "").split(), audiences=form.get("audiences", "").split(),
            **_sign_in(form))
    except InvalidRequest as wrong:
        return _listing(400, error=wrong.description, form=form)
    return page("application_secret.html", client=client, secret=secret, created=True)


@bp.get("/applications/<client_id>")
def application(client_id: str) -> Page:
    return page("application.html", client=services.clients.get(client_id),
                grant_labels=GRANT_LABELS, **MFA_RULE_CHOICES)


@bp.post("/applications/<client_id>/grant-types")
def set_grant_types(client_id: str) -> Response:
    try:
        services.flows.client_administration.update(
            client_id, grant_types=request.form.getlist("grant_types"))
    except InvalidRequest as wrong:
        flash(wrong.description, "error")
    else:
        flash("Grant types saved; they apply from the application's next request.", "success")
    return redirect(url_for("dashboard.application", client_id=client_id))


@bp.post("/applications/<client_id>/sign-in")
def set_sign_in(client_id: str) -> Page | Response:
    """The redirect URIs and the first-party flag; a wrong URI is explained next to the form,
    which keeps what was typed, and nothing is saved."""
    try:
        services.flows.client_administration.update(client_id, **_sign_in(request.form))
    except InvalidRequest as wrong:
        return page("application.html", 400, client=services.clients.get(client_id),
                    grant_labels=GRANT_LABELS, error=wrong.description, form=request.form,
                    **MFA_RULE_CHOICES)
    flash("Sign-in settings saved; they apply from the next sign-in.", "success")
    return redirect(url_for("dashboard.application", client_id=client_id))


@bp.post("/applications/<client_id>/mfa")
def set_mfa_rule(client_id: str) -> Response:
    """The application's MFA rule and the factors that may answer (README, MFA policies)."""
    try:
        services.flows.client_administration.update(
            client_id, mfa_policy=request.form.get("mfa_policy", ""),
            mfa_factors=request.form.getlist("mfa_factors"))
    except InvalidRequest as wrong:
        flash(wrong.description, "error")
    else:
        flash("MFA rule saved; it applies from the next login.", "success")
    return redirect(url_for("dashboard.application", client_id=client_id) + "#mfa")


@bp.post("/applications/<client_id>/rotate-secret")
def rotate_secret(client_id: str) -> Page:
    """A new secret, shown once; the old one stops working at once."""
    secret = services.flows.client_administration.replace_secret(client_id)
    return page("application_secret.html", client=services.clients.get(client_id),
                secret=secret, created=False)


@bp.post("/applications/<client_id>/delete")
def delete_application(client_id: str) -> Response:
    client: Client = services.clients.get(client_id)
    services.flows.client_administration.delete(client_id)
    flash(f"Deleted {client.name}; its tokens can no longer be refreshed.", "success")
    return redirect(url_for("dashboard.applications"))


def _sign_in(form: MultiDict[str, str]) -> dict[str, Any]:
    """The redirect URIs (one per line) and the third-party box of a form."""
    return {"redirect_uris": _lines(form.get("redirect_uris", "")),
            "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris", "")),
            "first_party": "third_party" not in form}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _listing(status: int = 200, **context: object) -> Page:
    return page("applications.html", status, clients=services.clients.listing(),
                grant_labels=GRANT_LABELS, default_grants=DEFAULT_GRANT_TYPES, **context)
