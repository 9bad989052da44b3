"""Flask helpers (``protekt[flask]``): a decorator that runs a view only for a good access token,
and sign-in by redirect for a web app.

    verifier = AccessTokenVerifier("https://auth.example.com", "https://api.example.com")

    @app.get("/payments")
    @require_access_token(verifier, scope="read:payments", mfa=True)
    def payments():
        return {"user": g.access_token["sub"]}

Refusals follow RFC 6750 §3: 401 with ``WWW-Authenticate: Bearer realm="api"`` when no token is
sent (no error code, §3.1), 401 ``invalid_token``, 403 ``insufficient_scope``, and 401
``insufficient_user_authentication`` (RFC 9470 §3) when ``mfa=True`` and the login had no second
factor. The body is ``{"error", "error_description"}``. When the issuer's keys cannot be fetched
the answer is 503 ``temporarily_unavailable`` with ``Retry-After``.

Sign-in by redirect keeps each login's ``state`` and PKCE verifier in ``flask.session`` (set
``app.secret_key``), up to ``PENDING_SIGN_INS`` at once so that tabs do not undo each other::

    @app.get("/login")
    def login():
        return redirect_to_sign_in(protekt, url_for("callback", _external=True))

    @app.get("/callback")
    def callback():
        tokens = finish_sign_in(protekt, url_for("callback", _external=True))
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, g, jsonify, redirect, request, session

from protekt.client import Protekt
from protekt.errors import ProtektError
from protekt.oidc import INVALID_STATE, check_issuer
from protekt.resource import AccessTokenVerifier, BearerError, KeysUnavailable

KEYS_RETRY_AFTER = "5"  # seconds; the issuer's keys are refetched on the next request
SIGN_IN_KEY = "protekt.sign_in"  # flask.session: [[state, verifier, max_age], ...]
PENDING_SIGN_INS = 5  # sign-ins started and not finished, kept per session (oldest dropped)

View = TypeVar("View", bound=Callable[..., Any])


def require_access_token(verifier: AccessTokenVerifier, scope: str | None = None, *,
                         mfa: bool = False, realm: str = "api") -> Callable[[View], View]:
    """Decorate a view: its claims are in ``flask.g.access_token`` when it runs."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token(request.headers.get("Authorization", ""))
            if token is None:
                return _challenge(realm)
            try:
                g.access_token = verifier.verify(token, scope=scope, require_mfa=mfa)
            except BearerError as refusal:
                return _refuse(refusal, realm)
            except KeysUnavailable as outage:
                return _unavailable(outage)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1), else None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _challenge(realm: str) -> Response:
    response = jsonify(error="invalid_request", error_description="An access token is required.")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return response


def _unavailable(outage: KeysUnavailable) -> Response:
    response = jsonify(error=outage.error, error_description=str(outage))
    response.status_code = outage.status
    response.headers["Retry-After"] = KEYS_RETRY_AFTER
    return response


def _refuse(refusal: BearerError, realm: str) -> Response:
    response = jsonify(error=refusal.error, error_description=refusal.description)
    response.status_code = refusal.status
    response.headers["WWW-Authenticate"] = refusal.www_authenticate(realm)
    return response


def redirect_to_sign_in(protekt: Protekt, redirect_uri: str, **params: Any) -> Response:
    """Start a sign-in: keep its state and verifier in ``flask.session``, and redirect the
    browser to Protekt. ``params`` are ``Protekt.authorization_url``'s (``scope``, ``prompt``,
    ``max_age``, ``login_hint``, ...)."""
    url, state, verifier = protekt.authorization_url(redirect_uri, **params)
    pending = session.get(SIGN_IN_KEY, [])[-(PENDING_SIGN_INS - 1):]
    session[SIGN_IN_KEY] = [*pending, [state, verifier, params.get("max_age")]]
    return cast(Response, redirect(url))


def finish_sign_in(protekt: Protekt, redirect_uri: str) -> dict[str, Any]:
    """On the callback view: the token response (see ``Protekt.exchange_code``). Raises
    ``ProtektError``: ``invalid_state`` for a callback no sign-in of this session is waiting for
    (each is used once), ``invalid_issuer``, the callback's own ``error`` (``access_denied``,
    ``login_required``, ...) with its ``error_description``, or a refusal of the exchange."""
    args = request.args
    state = args.get("state", "")
    pending = session.get(SIGN_IN_KEY, [])
    entry = next((kept for kept in pending if hmac.compare_digest(kept[0].encode(),
                                                                  state.encode())), None)
    if entry is None:
        raise ProtektError(INVALID_STATE, "No sign-in of this session is waiting for this "
                                          "callback: it was handled already, or started elsewhere.")
    session[SIGN_IN_KEY] = [kept for kept in pending if kept is not entry]
    check_issuer(args.get("iss"), protekt.issuer)
    if "error" in args:
        raise ProtektError(args["error"], args.get("error_description", ""))
    kept_state, verifier, max_age = entry
    return protekt.exchange_code(args.get("code", ""), redirect_uri, verifier, state=state,
                                 expected_state=kept_state, iss=args.get("iss"), max_age=max_age)
