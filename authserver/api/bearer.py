"""Reading a Bearer access token from a request (RFC 6750 §2)."""

from __future__ import annotations

from typing import Any

from flask import Request

from authserver.accounts.users import BLOCKED
from authserver.errors import InvalidRequest, InvalidToken, MissingToken
from authserver.extensions import services
from authserver.models import User


def bearer_token(request: Request) -> str:
    """The token from ``Authorization: Bearer`` (§2.1) or a POSTed form field (§2.2), not both."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    from_header = credentials.strip() if scheme.lower() == "bearer" else ""
    from_body = ""
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        from_body = request.form.get("access_token", "")
    if from_header and from_body:
        raise InvalidRequest("Send the access token once: in the header or in the body.")
    token = from_header or from_body
    if not token:
        raise MissingToken()
    return token


def token_user(claims: dict[str, Any]) -> User:
    """The user a verified access token was issued to; InvalidToken for a client's own token
    (client_credentials), a user who no longer exists, or one blocked since it was issued (a
    block ends the user's access at once here, not when the token expires)."""
    user = services.users.get(claims["sub"])
    if user is None:
        raise InvalidToken("This access token does not belong to a user.")
    if user.blocked:
        raise InvalidToken(BLOCKED)
    return user
