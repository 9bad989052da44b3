"""Protocol errors: one class per error code, with its HTTP status and public text on the class.

Raised anywhere (grants, domain modules, views) and rendered in one place (:func:`render`).
The public ``description`` goes to the client; ``detail`` goes only to the log. Bodies follow
RFC 6749 §5.2; Bearer-token errors add ``WWW-Authenticate`` per RFC 6750 §3. The classes extend
Authlib's ``OAuth2Error`` so that errors raised inside Authlib's grant machinery and ours travel
the same road.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from authlib.oauth2 import OAuth2Error

log = logging.getLogger("authserver.errors")

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_FORBIDDEN = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def safe_text(text: str, limit: int = 200) -> str:
    """Make text fit for an error_description (RFC 6749 §5.2 character set, bounded length)."""
    return _FORBIDDEN.sub("?", text)[:limit]


def render(error: OAuth2Error) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """(status, body, headers) of a protocol error; its private detail goes to the log only."""
    detail = getattr(error, "detail", None)
    if detail:
        log.warning("%s (%s): %s", error.error, error.status_code, detail)
    status, body, headers = error()
    return status, body, headers


class ProtektError(OAuth2Error):
    """Base of Protekt's protocol errors."""

    error = "server_error"
    status_code = 500
    description = "The server could not complete the request."

    def __init__(
        self,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(description=safe_text(description) if description else None)
        self.retry_after = retry_after
        self.detail = detail

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        if self.retry_after is not None:
            headers.append(("Retry-After", str(max(1, int(self.retry_after)))))
        return headers


class InvalidRequest(ProtektError):
    """A parameter is missing, repeated or malformed (RFC 6749 §5.2)."""

    error = "invalid_request"
    status_code = 400
    description = "The request is missing a parameter or has a malformed one."


class Conflict(InvalidRequest):
    """The request is well formed but clashes with what exists: an email address another user
    has (RFC 9110 §15.5.10, 409). A kind of invalid request, so every caller that refuses one
    refuses this one too."""

    error = "conflict"
    status_code = 409
    description = "This clashes with an existing resource."


class InvalidGrant(ProtektError):
    """The credential presented is wrong, unknown, used up, revoked or foreign (RFC 6749 §5.2)."""

    error = "invalid_grant"
    status_code = 400
    description = "The credentials are invalid."


class ExpiredToken(ProtektError):
    """The mfa_token (or an oob_code) has expired (README, API, as Auth0 answers)."""

    error = "expired_token"
    status_code = 400
    description = "The mfa_token has expired. Log in again to get a new one."


class MfaRequired(ProtektError):
    """A second factor is needed first (README, API; NIST SP 800-63B §6.1.2.1).

    At the token endpoint the body also carries the mfa_token and what the user can do with it.
    """

    error = "mfa_required"
    status_code = 403
    description = "Multifactor authentication required"

    def __init__(self, description: str | None = None, **members: object) -> None:
        super().__init__(description)
        self.members = members

    def get_body(self) -> list[tuple[str, object]]:
        return [*super().get_body(), *self.members.items()]


class UnsupportedGrantType(ProtektError):
    """The grant_type is not one this server knows (RFC 6749 §5.2)."""

    error = "unsupported_grant_type"
    status_code = 400
    description = "This grant_type is not supported."


class InvalidScope(ProtektError):
    """The scope asked for is unknown or not allowed to this client (RFC 6749 §5.2)."""

    error = "invalid_scope"
    status_code = 400
    description = "The requested scope is not allowed."


class UnauthorizedClient(ProtektError):
    """The client may not use this grant type (RFC 6749 §5.2)."""

    error = "unauthorized_client"
    status_code = 400
    description = "The client is not allowed to use this grant type."


class TooManyAttempts(ProtektError):
    """An attempt limit was reached (NIST SP 800-63B §5.2.2); ``Retry-After`` says when to retry.

    ``login_again`` marks a limit that waiting cannot lift (a void mfa_token): the body then
    carries ``"login_again": true`` and ``Retry-After`` is the time until the mfa_token expires,
    so a client that obeys it never loops; the SDKs expose the flag.
    """

    error = "too_many_attempts"
    status_code = 429
    description = "Too many attempts. Wait before trying again."

    def __init__(self, description: str | None = None, *, retry_after: int | None = None,
                 login_again: bool = False) -> None:
        super().__init__(description, retry_after=retry_after)
        self.login_again = login_again

    def get_body(self) -> list[tuple[str, Any]]:
        body = super().get_body()
        return [*body, ("login_again", True)] if self.login_again else body


class TemporarilyUnavailable(ProtektError):
    """Redis or the database cannot be reached: fail closed, never a token."""

    error = "temporarily_unavailable"
    status_code = 503
    description = "The service is temporarily unavailable. Retry shortly."

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description, retry_after=5, detail=detail)


class ServerError(ProtektError):
    """Anything unexpected; the client learns nothing about the cause."""


class BearerTokenError(ProtektError):
    """An error at a resource endpoint; answered with ``WWW-Authenticate: Bearer`` (RFC 6750 §3)."""

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        challenge = f'Bearer error="{self.error}", error_description="{self.description}"'
        headers.append(("WWW-Authenticate", challenge))
        return headers


class InvalidToken(BearerTokenError):
    """The access token is missing, expired, revoked, malformed or not ours (RFC 6750 §3.1)."""

    error = "invalid_token"
    status_code = 401
    description = "The access token is invalid or has expired."


class MissingToken(ProtektError):
    """No Bearer token was sent: a bare challenge, no error code in it (RFC 6750 §3.1)."""

    error = "invalid_token"
    status_code = 401
    description = "This endpoint needs a Bearer access token in the Authorization header."

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer")]


class InsufficientScope(BearerTokenError):
    """The access token lacks a scope the endpoint needs (RFC 6750 §3.1)."""

    error = "insufficient_scope"
    status_code = 403
    description = "The access token does not carry the scope this endpoint needs."


class NotFound(ProtektError):
    """No such resource."""

    error = "not_found"
    status_code = 404
    description = "Not found."


class MethodNotAllowed(ProtektError):
    """The path exists but not for this HTTP method (RFC 9110 §15.5.6)."""

    error = "invalid_request"
    status_code = 405
    description = "This HTTP method is not allowed here."


class PayloadTooLarge(ProtektError):
    """The request body is larger than any valid request (RFC 9110 §15.5.14)."""

    error = "invalid_request"
    status_code = 413
    description = "The request body is too large."


class InvalidClient(ProtektError):
    """Client authentication failed (RFC 6749 §5.2): always 401 with a Basic challenge."""

    error = "invalid_client"
    status_code = 401
    description = (
        "Client authentication failed: unknown client_id, wrong client_secret, "
        "or an authentication method this client does not use."
    )

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("WWW-Authenticate", 'Basic realm="protekt"')]


class AccessDenied(ProtektError):
    """The client may not obtain tokens for the audience it asked for (as Auth0 answers)."""

    error = "access_denied"
    status_code = 403
    description = "The client is not allowed to access this audience."
