"""Protekt example web app: sign-in at Protekt (OpenID Connect code flow with PKCE), who is
signed in and how, and a security settings page for the user's factors, on the Python SDK.

Run it against ``protekt demo`` (see README.md)::

    PROTEKT_DOMAIN=http://127.0.0.1:8000 PROTEKT_CLIENT_ID=... PROTEKT_CLIENT_SECRET=... \\
    WEBAPP_SECRET_KEY=... python examples/webapp/app.py

Tokens stay on the server: the browser's cookie (signed by Flask, HttpOnly, SameSite=Lax) holds
only a random session id, set once the session holds something. Every form carries a per-session
CSRF token.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import account
import signin
from flask import Flask, Response, abort, g, render_template, request, session
from markupsafe import Markup, escape
from session_store import SessionStore
from user_session import (
    EXTENSION,
    SignedOut,
    Webapp,
    csrf_token,
    describe,
    end_session,
    signed_in,
    state,
    user_session,
    webapp,
)
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from protekt import Protekt, ProtektError

DEFAULT_PORT = 5000
# Forms post to the app only; those that end at Protekt (sign-out, a step-up) get there by a
# redirect, which form-action covers too.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; form-action 'self' {}; "
                           "frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class Settings:
    """Where Protekt is, this app's client credentials, the key that signs the cookie, and the
    app's own address: its redirect URI is ``{url}/callback``, its post-logout one ``{url}/``."""

    domain: str
    client_id: str
    client_secret: str | None
    secret_key: str
    url: str = f"http://127.0.0.1:{DEFAULT_PORT}"


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Settings from ``PROTEKT_*``, ``WEBAPP_SECRET_KEY`` (``WEBAPP_DEV=1``: a throwaway key) and
    ``WEBAPP_URL`` (default ``http://127.0.0.1:$PORT``)."""
    missing = [name for name in ("PROTEKT_DOMAIN", "PROTEKT_CLIENT_ID") if not env.get(name)]
    if missing:
        raise SystemExit(f"Set {' and '.join(missing)} (protekt demo prints them).")
    secret_key = env.get("WEBAPP_SECRET_KEY", "")
    if not secret_key and env.get("WEBAPP_DEV") != "1":
        raise SystemExit("Set WEBAPP_SECRET_KEY to a long random value, or WEBAPP_DEV=1 to "
                         "develop with a throwaway key.")
    url = env.get("WEBAPP_URL") or f"http://127.0.0.1:{env.get('PORT') or DEFAULT_PORT}"
    return Settings(env["PROTEKT_DOMAIN"], env["PROTEKT_CLIENT_ID"],
                    env.get("PROTEKT_CLIENT_SECRET") or None,
                    secret_key or secrets.token_hex(32), url.rstrip("/"))


def create_app(settings: Settings) -> Flask:
    """The Flask app, talking to the Protekt server of ``settings``."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, SESSION_COOKIE_NAME="webapp_session",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      MAX_CONTENT_LENGTH=64 * 1024)
    app.extensions[EXTENSION] = Webapp(
        client=Protekt(settings.domain, settings.client_id, settings.client_secret),
        sessions=SessionStore(), url=settings.url.rstrip("/"))
    issuer = urlsplit(settings.domain)
    policy = CONTENT_SECURITY_POLICY.format(f"{issuer.scheme}://{issuer.netloc}")
    app.before_request(open_session)
    app.after_request(keep_session)
    app.after_request(lambda response: add_security_headers(response, policy))
    app.context_processor(template_values)
    app.register_error_handler(ProtektError, on_protekt_error)
    app.register_error_handler(SignedOut, on_signed_out)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_blueprint(signin.bp)
    app.register_blueprint(account.bp)
    return app


def open_session() -> None:
    """Load the server-side session named by the cookie; refuse a POST without its CSRF token."""
    if request.endpoint == "static":
        return
    g.user_session = webapp().sessions.open(session.get("sid"))
    if request.method == "POST" and not csrf_token_matches(request.form.get("csrf_token", "")):
        abort(400, "The form has expired. Go back, reload the page and try again.")


def csrf_token_matches(sent: str) -> bool:
    """Whether a form sent the session's CSRF token (a session without one accepts no form)."""
    expected = state().get("csrf_token")
    return expected is not None and hmac.compare_digest(sent.encode(), expected.encode())


def keep_session(response: Response) -> Response:
    """Store the session if this request put something in it; point the cookie at its id."""
    if "user_session" not in g:
        return response
    current = user_session()
    if current.state:
        webapp().sessions.save(current)
    if current.id is None:
        session.pop("sid", None)
    elif session.get("sid") != current.id:
        session["sid"] = current.id
    return response


def add_security_headers(response: Response, policy: str) -> Response:
    """No caching of pages (they show codes), no framing, resources from this app only."""
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class CsrfField:
    """The hidden CSRF input of a form: its token is made only when a page shows the field."""

    def __html__(self) -> str:
        """The ``<input>`` element, as Jinja renders ``{{ csrf_field }}``."""
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
            escape(csrf_token()))


def template_values() -> dict[str, Any]:
    """The signed-in user, the CSRF field for forms, and the notices to show once."""
    if "user_session" not in g:
        return {}
    current = state()
    return {"user": current.get("user") if signed_in() else None, "csrf_field": CsrfField(),
            "notices": current.pop("notices", [])}


def on_protekt_error(error: ProtektError) -> Response | tuple[str, int] | str:
    """Step-up when Protekt wants a second factor; sign-in again when the tokens are refused."""
    if error.error == "mfa_required":
        return signin.step_up()
    if error.error == "invalid_token":
        return end_session("Your session has ended. Please sign in again.")
    status = error.status if error.status is not None and error.status >= 400 else 502
    return render_template("error.html", message=describe(error)), status


def on_signed_out(error: SignedOut) -> Response:
    """Tokens gone or expired: back to the start page, to sign in again."""
    return end_session(str(error))


def on_http_error(error: HTTPException) -> tuple[str, int]:
    """HTTP errors (bad CSRF token, unknown page) on the app's own error page."""
    return render_template("error.html", message=error.description), error.code or 500


class RequestLog(WSGIRequestHandler):
    """The development server's request log without query strings: the callback's carries the
    authorization code and the state."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """``"GET /callback HTTP/1.1" 302 -``"""
        path = urlsplit(getattr(self, "path", "")).path  # none when the request line was bad
        line = f"{getattr(self, 'command', None) or '-'} {path} {self.request_version}"
        printable = "".join(char if char.isprintable() else "?" for char in line)
        self.log("info", '"%s" %s %s', printable, code, size)


def main() -> None:
    """Serve on 127.0.0.1:$PORT with Flask's development server."""
    settings = settings_from_env(os.environ)
    port = int(os.environ.get("PORT", DEFAULT_PORT))
    print(f"Protekt example web app on {settings.url}, signing in at {settings.domain}",
          file=sys.stderr)
    create_app(settings).run(host="127.0.0.1", port=port, request_handler=RequestLog)


if __name__ == "__main__":
    main()
