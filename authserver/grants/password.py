"""The password grant (RFC 6749 §4.3): email and password for tokens, amr ``pwd`` (RFC 8176).

When the account needs a second factor the answer is ``403 mfa_required`` with an mfa_token
(README, API), never tokens (authserver.flows.password_login).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from authserver import errors
from authserver.accounts.login import LoginAttempt
from authserver.flows import password_login
from authserver.grants.base import ProtektGrant, Response
from authserver.tokens.issuer import Tokens

MAX_DEVICE_ID = 200


def _device_id(form: dict[str, str]) -> str | None:
    """The optional ``device_id`` an app keeps per browser or installation (adaptive MFA)."""
    device_id = form.get("device_id")
    if device_id is not None and len(device_id) > MAX_DEVICE_ID:
        raise errors.InvalidRequest(f"'device_id' must be at most {MAX_DEVICE_ID} characters.")
    return device_id or None


class PasswordGrant(ProtektGrant, grants.ResourceOwnerPasswordCredentialsGrant):
    """Checks parameters first, so a malformed request never costs a login attempt. Management
    scopes are never given to a user's login: they belong to machine clients."""

    outcome: Tokens | password_login.MfaRequired

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        request = self.login_request(client)
        attempt = LoginAttempt(self.param("username"), self.param("password"), client.client_id,
                               self.request.client_ip, _device_id(self.request.form))
        self.outcome = self.services.flows.password_login.run(attempt, request)

    def create_token_response(self) -> Response:
        return self.login_response(self.outcome)
