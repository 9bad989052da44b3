"""The hosted pages' blueprint and what they share: the two cookies, CSRF, security headers,
and errors shown as pages.

* **The sign-in session cookie** (``protekt-session``; ``__Host-protekt-session``, ``Secure``,
  under https: RFC 6265bis §4.1.3.2) holds the id of the sign-in session, signed; the session
  itself is in the store (:mod:`authserver.accounts.sessions`). ``SameSite=Lax``, so that it
  comes along when an app sends the browser to ``/authorize``; ``HttpOnly``.
* **The interaction cookie** (``protekt-signin``, same attributes) holds, signed, the id of the
  sign-in in progress (:mod:`authserver.accounts.interactions`), the CSRF token of its forms, and
  during the second step the mfa_token and the oob_code of an SMS sent: the browser holding the
  cookie is the one that typed the password.
* **Pages**: :func:`authserver.pages.secure_page` headers (no framing, no inline script,
  ``no-store``); every POST is checked against the interaction's CSRF token and origin.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from authserver import pages
from authserver.authorization import single_values
from authserver.extensions import services
from authserver.flows.hosted_signin import HostedSignIn, Who
from authserver.models import Client

bp = Blueprint("hosted", __name__, template_folder="templates", static_folder="static",
               static_url_path="/signin/static")

SESSION_COOKIE = "protekt-session"
SIGNIN_COOKIE = "protekt-signin"
TRUST_COOKIE = "protekt-trust"  # a remembered browser's token (authserver.mfa.trusted_devices)


def hosted() -> HostedSignIn:
    return current_app.extensions["protekt.hosted"]  # type: ignore[no-any-return]


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.extensions["protekt.hosted.key"], salt=purpose)


def _cookie_name(name: str) -> str:
    return f"__Host-{name}" if _secure() else name


def _secure() -> bool:
    return services.settings.issuer.startswith("https://")


def _read(name: str) -> Any:
    raw = request.cookies.get(_cookie_name(name), "")
    try:
        return _serializer(name).loads(raw) if raw else None
    except BadSignature:
        return None


def _write(response: Response, name: str, value: Any, max_age: int | None) -> None:
    response.set_cookie(_cookie_name(name), _serializer(name).dumps(value), max_age=max_age,
                        path="/", secure=_secure(), httponly=True, samesite="Lax")


# the sign-in in progress (interaction cookie) ------------------------------------------------

def signin_state() -> dict[str, str]:
    """The interaction cookie's content: ``id``, ``csrf`` and during the second step
    ``mfa_token`` and ``oob_code``. Changes are written back with the response."""
    if "signin_state" not in g:
        state = _read(SIGNIN_COOKIE)
        g.signin_state = state if isinstance(state, dict) else {}
    return g.signin_state  # type: ignore[no-any-return]


def begin_signin(interaction_id: str) -> None:
    """A fresh interaction cookie for a new sign-in: new id and CSRF token."""
    g.signin_state = {"id": interaction_id, "csrf": secrets.token_urlsafe(32)}
    g.signin_changed = True


def end_signin() -> None:
    """Forget the finished sign-in in the browser."""
    g.signin_state = {}
    g.signin_ended = True


def update_signin(**changes: str | None) -> None:
    state = signin_state()
    for name, value in changes.items():
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
    g.signin_changed = True


def csrf_token() -> str:
    return signin_state().get("csrf", "")


def ensure_csrf() -> None:
    """A CSRF token for a form outside a sign-in (the logout confirmation)."""
    if not csrf_token():
        update_signin(csrf=secrets.token_urlsafe(32))


# the sign-in session (session cookie) --------------------------------------------------------

def session_id() -> str:
    value = _read(SESSION_COOKIE)
    return value if isinstance(value, str) else ""


def trust_token() -> str:
    """The token of this browser's remembered-device cookie, or ""."""
    value = _read(TRUST_COOKIE)
    return value if isinstance(value, str) else ""


def set_trust(token: str, days: int) -> None:
    """Give the browser its remembered-device cookie with the response, for ``days``."""
    g.new_trust = (token, days * 86400)


def set_session(new_id: str | None) -> None:
    """Give the browser this session id (None: forget it) with the response."""
    g.new_session = new_id


@bp.after_request
def write_cookies(response: Response) -> Response:
    if g.get("signin_ended"):
        response.delete_cookie(_cookie_name(SIGNIN_COOKIE), path="/", secure=_secure(),
                               httponly=True, samesite="Lax")
    elif g.get("signin_changed"):
        _write(response, SIGNIN_COOKIE, signin_state(), None)
    if "new_trust" in g:
        _write(response, TRUST_COOKIE, g.new_trust[0], g.new_trust[1])
    if "new_session" in g:
        if g.new_session is None:
            response.delete_cookie(_cookie_name(SESSION_COOKIE), path="/", secure=_secure(),
                                   httponly=True, samesite="Lax")
        else:
            _write(response, SESSION_COOKIE, g.new_session, services.settings.sso_session_ttl)
    if request.endpoint == "hosted.static":
        response.headers.update(pages.SECURITY_HEADERS)
        return response
    return pages.secure_page(response)


@bp.before_request
def check_forms() -> None:
    """Every form: each field once and without NUL; and, but for the two endpoints apps post
    to, the CSRF token of this sign-in."""
    if request.method != "POST":
        return
    single_values(request.form)
    if request.endpoint not in ("hosted.authorize", "hosted.logout"):
        pages.check_csrf(csrf_token())


def who(client: Client) -> Who:
    return Who(client, request.remote_addr or "")


# pages and errors ----------------------------------------------------------------------------

def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"hosted/{template}", csrf_token=csrf_token(), **context), status


pages.register_error_pages(bp, "hosted/error.html")


def register(app: Flask, steps: HostedSignIn, cookie_key: bytes) -> None:
    app.extensions["protekt.hosted"] = steps
    app.extensions["protekt.hosted.key"] = cookie_key
    app.register_blueprint(bp)
