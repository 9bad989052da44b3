"""The dashboard's blueprint and what every page shares: the sign-in guard, CSRF, security
headers, and errors rendered as pages.

* **Sessions**: Flask's session cookie, signed with a key derived from the encryption key, holds
  the CSRF token, the dashboard session id (:mod:`authserver.accounts.sessions`) and, during
  sign-in, the mfa_token. It is ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` with the
  ``__Host-`` prefix when the issuer is https (RFC 6265bis §4.1.3.2).
* **CSRF**: every POST carries the session's token (form field ``csrf_token`` or header
  ``X-CSRF-Token``), compared in constant time; a cross-site ``Origin`` is refused too (OWASP
  CSRF Prevention Cheat Sheet: synchronizer token, origin check).
* **Headers**: a CSP that allows only this origin's scripts and styles and no framing
  (``frame-ancestors 'none'``), ``X-Frame-Options: DENY``, ``nosniff``, referrers only within
  the dashboard's origin, and ``Cache-Control: no-store`` on every page (all show account data).
* **Guard**: every page but sign-in and the static files needs a live session
  (:mod:`authserver.accounts.sessions`) of a user who is still an administrator and not
  blocked; anyone else is sent to the sign-in page.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug import exceptions as http

from authserver.api.errors import DATABASE_UNAVAILABLE, render
from authserver.clients import DASHBOARD_CLIENT_ID
from authserver.dashboard.signin import AdminSignIn
from authserver.errors import ServerError, TemporarilyUnavailable
from authserver.extensions import db, services
from authserver.models import User

log = logging.getLogger("authserver.dashboard")
bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static")

PUBLIC_ENDPOINTS = {"dashboard.signin", "dashboard.signin_code", "dashboard.signin_enroll",
                    "dashboard.static"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: Chromium then sends "Origin: null"
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSRF_REFUSED = ("This form did not come from this dashboard, or has expired. Reload the page "
                "and try again.")


def sign_in() -> AdminSignIn:
    return current_app.extensions["protekt.dashboard.signin"]  # type: ignore[no-any-return]


def admin() -> User:
    """The signed-in administrator (pages behind the guard only)."""
    return g.admin  # type: ignore[no-any-return]


def client_ip() -> str:
    return request.remote_addr or ""


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]  # type: ignore[no-any-return]


def start_session(user: User, since: float) -> None:
    """A fresh cookie for the administrator: new session id and CSRF token (no fixation)."""
    session.clear()
    session["sid"] = services.admin_sessions.start(user.id, since)
    csrf_token()


def end_session() -> None:
    if "sid" in session:
        services.admin_sessions.end(session["sid"])
    session.clear()


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"dashboard/{template}", **context), status


def latest_events(limit: int, user_id: str | None = None) -> dict[str, Any]:
    """The audit trail's newest events, with the names of the applications they mention."""
    events = services.audit.latest(user_id=user_id, event_type=None, before=None, limit=limit)
    names = services.clients.names(e.client_id for e in events if e.client_id)
    return {"events": events, "client_names": {**names, DASHBOARD_CLIENT_ID: "Dashboard"}}


@bp.before_request
def guard() -> Response | None:
    """CSRF first for every POST, then the session for every page but sign-in."""
    if request.method == "POST":
        _check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = _signed_in_admin()
    if user is None:
        return redirect(url_for("dashboard.signin"))
    g.admin = user
    return None


def _check_csrf() -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    origin = request.headers.get("Origin")
    same_origin = origin is None or _origin(origin) == _origin(request.host_url)
    if not (expected and hmac.compare_digest(sent.encode(), expected.encode()) and same_origin):
        raise http.BadRequest(CSRF_REFUSED)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _signed_in_admin() -> User | None:
    found = services.admin_sessions.find(session.get("sid", ""))
    if found is None:
        return None
    user = services.users.get(found.user_id)
    if user is None or not user.is_admin or user.blocked:
        end_session()
        return None
    return user


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def shared_context() -> dict[str, Callable[[], str]]:
    return {"csrf_token": csrf_token}


_TITLES = {400: "That did not work", 403: "Not allowed", 404: "Not found",
           429: "Too many attempts", 503: "Temporarily unavailable"}
ErrorPage = tuple[str, int, list[tuple[str, str]]]


@bp.errorhandler(OAuth2Error)
def error_page(error: OAuth2Error) -> ErrorPage:
    """Any protocol error as a page: its status, public description and Retry-After."""
    status, body, headers = render(error)
    html, _ = page("error.html", title=_TITLES.get(status, "Something went wrong"),
                   message=body.get("error_description", ""))
    return html, status, [(k, v) for k, v in headers if k == "Retry-After"]


@bp.errorhandler(http.HTTPException)
def http_error_page(exc: http.HTTPException) -> ErrorPage:
    error = ServerError(exc.description)
    error.status_code = exc.code or 500
    return error_page(error)


def database_unavailable_page(exc: Exception) -> ErrorPage:
    db.session.rollback()
    return error_page(TemporarilyUnavailable(detail=f"database: {type(exc).__name__}"))


for _unavailable in DATABASE_UNAVAILABLE:
    bp.register_error_handler(_unavailable, database_unavailable_page)


@bp.errorhandler(Exception)
def unexpected_page(exc: Exception) -> ErrorPage:
    log.exception("unexpected error in the dashboard", exc_info=exc)
    db.session.rollback()
    return error_page(ServerError())


def register(app: Flask, sign_in_steps: AdminSignIn) -> None:
    """Mount the dashboard with its sign-in steps."""
    app.extensions["protekt.dashboard.signin"] = sign_in_steps
    app.register_blueprint(bp)
