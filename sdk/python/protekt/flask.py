"""A Flask decorator: a view runs only for a good access token (``protekt[flask]``).

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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, g, jsonify, request

from protekt.resource import AccessTokenVerifier, BearerError, KeysUnavailable

KEYS_RETRY_AFTER = "5"  # seconds; the issuer's keys are refetched on the next request

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
