"""Users: search, create, one user's profile, authenticators, consents and recent events, edit
the profile, remove a factor, revoke a consent, reset MFA, block and unblock; all through
:class:`UserAdministration`, :class:`UserDirectory` and :class:`Consents`, as the management API
does."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for

from authserver.accounts.users import PROFILE_CLAIMS, Profile
from authserver.api.params import whole_number
from authserver.dashboard.web import admin, bp, latest_events, page
from authserver.errors import AccessDenied, InvalidRequest
from authserver.extensions import services

Page = tuple[str, int]
PER_PAGE = 25
RECENT_EVENTS = 20


@bp.get("/users")
def users() -> Page:
    return _search()


@bp.post("/users")
def create_user() -> Page | Response:
    email = request.form.get("email", "")
    try:
        user = services.administration.create(email, request.form.get("password", ""))
    except InvalidRequest as wrong:
        return _search(400, error=wrong.description, email=email)
    flash(f"Created {user.email}.", "success")
    return redirect(url_for("dashboard.user", user_id=user.id))


@bp.get("/users/<user_id>")
def user(user_id: str) -> Page:
    return _user_page(user_id)


@bp.post("/users/<user_id>/profile")
def set_profile(user_id: str) -> Page | Response:
    """The profile claims (OIDC Core §5.1); an empty field clears its claim. A wrong value is
    explained next to the form, which keeps what was typed, and nothing is saved."""
    try:
        profile = Profile.checked({name: request.form.get(name, "") for name in PROFILE_CLAIMS})
        services.administration.update(user_id, profile=profile)
    except InvalidRequest as wrong:
        return _user_page(user_id, 400, error=wrong.description, form=request.form)
    flash("Profile saved.", "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/consents/<client_id>/revoke")
def revoke_consent(user_id: str, client_id: str) -> Response:
    """Forget the consent: the application asks the user again at the next sign-in."""
    services.administration.revoke_consent(user_id, client_id)
    flash("Consent revoked: the application asks again at the user's next sign-in.", "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/authenticators/<authenticator_id>/delete")
def remove_authenticator(user_id: str, authenticator_id: str) -> Response:
    _not_yourself(user_id)
    services.administration.remove_authenticator(user_id, authenticator_id)
    flash("Removed the authenticator.", "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/trusted-devices/forget")
def forget_devices(user_id: str) -> Response:
    services.administration.forget_device(user_id)
    flash("Forgot the remembered browsers: the next sign-in in each asks the second factor.",
          "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/reset-mfa")
def reset_mfa(user_id: str) -> Response:
    _not_yourself(user_id)
    removed = services.administration.reset_mfa(user_id)
    flash(f"Reset MFA: removed {removed} authenticator(s) and the recovery codes, and signed "
          "the user out everywhere. They log in with their password until they enroll again.",
          "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/block")
def block(user_id: str) -> Response:
    _not_yourself(user_id)
    services.administration.block(user_id)
    flash("Blocked: the user cannot log in, and their sessions have ended.", "success")
    return _back_to(user_id)


@bp.post("/users/<user_id>/unblock")
def unblock(user_id: str) -> Response:
    services.administration.unblock(user_id)
    flash("Unblocked: the user can log in again.", "success")
    return _back_to(user_id)


def _not_yourself(user_id: str) -> None:
    """An administrator does not weaken or lock their own account from a session: a stolen
    session could otherwise reset the console's factor and enroll its own after the password
    alone, and a slip could lock the last administrator out. Another administrator can."""
    if user_id == admin().id:
        raise AccessDenied("Another administrator must do this for your own account.")


def _back_to(user_id: str) -> Response:
    return redirect(url_for("dashboard.user", user_id=user_id))


def _user_page(user_id: str, status: int = 200, **context: Any) -> Page:
    administration = services.administration
    consents = services.consents.of_user(user_id)
    return page("user.html", status, user=administration.user(user_id),
                authenticators=administration.authenticators(user_id), consents=consents,
                trusted_devices=administration.trusted_devices(user_id),
                consent_clients=services.clients.names(c.client_id for c in consents),
                claims=PROFILE_CLAIMS, **latest_events(RECENT_EVENTS, user_id), **context)


def _search(status: int = 200, **context: object) -> Page:
    query = request.args.get("q", "")
    number = whole_number(request.args.get("page", "0")) or 0
    found = services.administration.search(query, number, PER_PAGE)
    return page("users.html", status, users=found.users, total=found.total, query=query,
                number=number, last=max(0, (found.total - 1) // PER_PAGE), **context)
