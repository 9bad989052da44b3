"""The dashboard's blueprint and what every page shares: the sign-in guard, CSRF, security
headers, and errors rendered as pages.

* **Sessions**: Flask's session cookie, signed with a key derived from the encryption key, holds
  the CSRF token, the dashboard session id (:mod:`authserver.accounts.sessions`) and, during
  sign-in, the mfa_token. It is ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` with the
  ``__Host-`` prefix when the issuer is https (RFC 6265bis §4.1.3.2).
* **CSRF and headers**: as every page of ours (:mod:`authserver.pages`), with forms posted
  only to the dashboard (``form-action 'self'``).
* **Guard**: every page but sign-in and the static files needs a live session
  (:mod:`authserver.accounts.sessions`) of a user who is still an administrator and not
  blocked; anyone else is sent to the sign-in page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

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

from authserver import pages
from authserver.clients import DASHBOARD_CLIENT_ID
from authserver.extensions import services
from authserver.flows.dashboard_signin import AdminSignIn
from authserver.models import User

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static")

PUBLIC_ENDPOINTS = {"dashboard.signin", "dashboard.signin_code", "dashboard.signin_enroll",
                    "dashboard.signin_passkey_options", "dashboard.signin_new_passkey",
                    "dashboard.signin_passkey", "dashboard.static"}
CSP = f"{pages.CSP}; form-action 'self'"


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
        pages.check_csrf(session.get("csrf", ""))
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = _signed_in_admin()
    if user is None:
        return redirect(url_for("dashboard.signin"))
    g.admin = user
    return None


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
    if request.endpoint == "dashboard.static":
        response.headers.update(pages.SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = CSP
        return response
    return pages.secure_page(response, CSP)


@bp.app_context_processor
def shared_context() -> dict[str, Callable[[], str]]:
    return {"csrf_token": csrf_token}


pages.register_error_pages(bp, "dashboard/error.html")


def register(app: Flask, sign_in_steps: AdminSignIn) -> None:
    """Mount the dashboard with its sign-in steps."""
    app.extensions["protekt.dashboard.signin"] = sign_in_steps
    app.register_blueprint(bp)
