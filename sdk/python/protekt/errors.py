"""The one exception the SDK raises for a refused or failed request.

Protekt answers errors as RFC 6749 §5.2 does: ``{"error", "error_description"}`` with an HTTP
status; ``Retry-After`` (RFC 9110 §10.2.3) comes with ``too_many_attempts`` (429) and
``temporarily_unavailable`` (503).
"""

from __future__ import annotations

NETWORK_ERROR = "network_error"  # no answer from the server (not an OAuth code; ours)


class ProtektError(Exception):
    """A request Protekt refused, or one that never got an answer.

    ``error`` is the OAuth error code (``invalid_grant``, ``expired_token``, ...), or
    ``network_error`` when the server could not be reached; ``status`` is the HTTP status, None
    without an answer; ``retry_after`` is in seconds when the server said when to retry.
    ``login_again`` is True when no wait helps and the user must start a new login: a
    ``too_many_attempts`` for an mfa_token voided by wrong codes (its ``retry_after`` is only
    the time until it expires). Don't retry such an error; log in again.
    """

    def __init__(self, error: str, error_description: str = "", status: int | None = None,
                 retry_after: int | None = None, *, login_again: bool = False) -> None:
        super().__init__(f"{error}: {error_description}" if error_description else error)
        self.error = error
        self.error_description = error_description
        self.status = status
        self.retry_after = retry_after
        self.login_again = login_again
