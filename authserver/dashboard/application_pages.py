"""Applications: list, create (the secret shown once), grant types, secret rotation, delete;
all through :class:`ClientRegistry`, as the management API and the CLI do."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from authserver.clients import (
    CLIENT_CREDENTIALS,
    DEFAULT_GRANT_TYPES,
    MFA_OOB,
    MFA_OTP,
    MFA_RECOVERY_CODE,
    PASSWORD,
    REFRESH_TOKEN,
)
from authserver.dashboard.web import bp, page
from authserver.errors import InvalidRequest
from authserver.extensions import services
from authserver.models import Client

Page = tuple[str, int]
GRANT_LABELS = {
    PASSWORD: "Password (users log in with email and password)",
    REFRESH_TOKEN: "Refresh token",
    MFA_OTP: "MFA with an authenticator app code (mfa-otp)",
    MFA_OOB: "MFA with an SMS code (mfa-oob)",
    MFA_RECOVERY_CODE: "MFA with a recovery code (mfa-recovery-code)",
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
        client, secret = services.clients.create(
            form.get("name", ""), public="public" in form,
            grant_types=form.getlist("grant_types"),
            scopes=form.get("scopes", "").split(), audiences=form.get("audiences", "").split())
    except InvalidRequest as wrong:
        return _listing(400, error=wrong.description, form=form)
    return page("application_secret.html", client=client, secret=secret, created=True)


@bp.get("/applications/<client_id>")
def application(client_id: str) -> Page:
    return page("application.html", client=services.clients.get(client_id),
                grant_labels=GRANT_LABELS)


@bp.post("/applications/<client_id>/grant-types")
def set_grant_types(client_id: str) -> Response:
    try:
        services.clients.set_grant_types(client_id, request.form.getlist("grant_types"))
    except InvalidRequest as wrong:
        flash(wrong.description, "error")
    else:
        flash("Grant types saved; they apply from the application's next request.", "success")
    return redirect(url_for("dashboard.application", client_id=client_id))


@bp.post("/applications/<client_id>/rotate-secret")
def rotate_secret(client_id: str) -> Page:
    """A new secret, shown once; the old one stops working at once."""
    secret = services.clients.rotate_secret(client_id)
    return page("application_secret.html", client=services.clients.get(client_id),
                secret=secret, created=False)


@bp.post("/applications/<client_id>/delete")
def delete_application(client_id: str) -> Response:
    client: Client = services.clients.get(client_id)
    services.clients.delete(client_id)
    flash(f"Deleted {client.name}; its tokens can no longer be refreshed.", "success")
    return redirect(url_for("dashboard.applications"))


def _listing(status: int = 200, **context: object) -> Page:
    return page("applications.html", status, clients=services.clients.listing(),
                grant_labels=GRANT_LABELS, default_grants=DEFAULT_GRANT_TYPES, **context)
