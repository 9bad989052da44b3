"""Users: search, create, one user's authenticators and recent events, remove a factor, reset
MFA, block and unblock; all through :class:`UserAdministration` and :class:`UserDirectory`, as
the management API does."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

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
        user = services.users.create(email, request.form.get("password", ""))
    except InvalidRequest as wrong:
        return _search(400, error=wrong.description, email=email)
    flash(f"Created {user.email}.", "success")
    return redirect(url_for("dashboard.user", user_id=user.id))


@bp.get("/users/<user_id>")
def user(user_id: str) -> Page:
    administration = services.administration
    return page("user.html", user=administration.user(user_id),
                authenticators=administration.authenticators(user_id),
                **latest_events(RECENT_EVENTS, user_id))


@bp.post("/users/<user_id>/authenticators/<authenticator_id>/delete")
def remove_authenticator(user_id: str, authenticator_id: str) -> Response:
    _not_yourself(user_id)
    services.administration.remove_authenticator(user_id, authenticator_id)
    flash("Removed the authenticator.", "success")
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


def _search(status: int = 200, **context: object) -> Page:
    query = request.args.get("q", "")
    number = whole_number(request.args.get("page", "0")) or 0
    found = services.administration.search(query, number, PER_PAGE)
    return page("users.html", status, users=found.users, total=found.total, query=query,
                number=number, last=max(0, (found.total - 1) // PER_PAGE), **context)
