"""Cross-origin calls from browser apps (Fetch Standard §3.2, the CORS protocol).

A single-page app served from ``https://app.example.com`` calls Protekt with ``fetch``; the
browser lets it read the answers only when Protekt names that origin. Only the origins listed in
``PROTEKT_CORS_ORIGINS`` are named, exactly, and only on the endpoints a browser app uses: the
token and revocation endpoints, ``/mfa/*``, ``/passkey/challenge``, ``/userinfo`` and
discovery. No cookies are involved
(``Access-Control-Allow-Credentials`` is never sent): every call carries its own token.
"""

from __future__ import annotations

from flask import Flask, Response, request

BROWSER_ENDPOINTS = frozenset({
    "/oauth/token", "/oauth/revoke", "/userinfo", "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server", "/.well-known/jwks.json", "/passkey/challenge",
})
MFA_PREFIX = "/mfa/"  # every /mfa/* endpoint takes a token, never a cookie
ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After, WWW-Authenticate"  # the SDKs read both on refusals
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


def register_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer preflights and name allowed origins on the browser endpoints; nothing if none."""
    if not origins:
        return
    allowed = frozenset(origins)

    @app.before_request
    def preflight() -> Response | None:
        if request.method != "OPTIONS" or not _browser_path():
            return None
        response = Response(status=204)
        if _allowed_origin(allowed) is not None:
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response

    @app.after_request
    def name_the_origin(response: Response) -> Response:
        if not _browser_path():
            return response
        response.vary.add("Origin")  # answers differ by Origin: caches must keep them apart
        response.headers.extend(origin_headers(request.headers.get("Origin"), allowed))
        return response


def origin_headers(origin: str | None, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """The headers that let a browser app of an allowed ``origin`` read an answer; none for
    another origin."""
    named = (origin or "").lower()
    if named not in allowed:
        return []
    return [("Access-Control-Allow-Origin", named),
            ("Access-Control-Expose-Headers", EXPOSE_HEADERS)]


def _browser_path() -> bool:
    return request.path in BROWSER_ENDPOINTS or request.path.startswith(MFA_PREFIX)


def _allowed_origin(allowed: frozenset[str]) -> str | None:
    origin = request.headers.get("Origin", "").lower()
    return origin if origin in allowed else None
