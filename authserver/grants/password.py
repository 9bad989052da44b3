"""The password grant (RFC 6749 §4.3): email and password for tokens, amr ``pwd`` (RFC 8176).

When the account needs a second factor the answer is ``403 mfa_required`` with an mfa_token
(README, API), never tokens (authserver.flows.password_login).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from authserver.accounts.login import LoginAttempt
from authserver.flows import password_login
from authserver.grants.base import ProtektGrant, Response
from authserver.tokens.issuer import Tokens


class PasswordGrant(ProtektGrant, grants.ResourceOwnerPasswordCredentialsGrant):
    """Checks parameters first, so a malformed request never costs a login attempt. Management
    scopes are never given to a user's login: they belong to machine clients."""

    outcome: Tokens | password_login.MfaRequired

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        request = self.login_request(client)
        attempt = LoginAttempt(self.param("username"), self.param("password"), client.client_id,
                               self.request.client_ip)
        self.outcome = self.services.flows.password_login.run(attempt, request)

    def create_token_response(self) -> Response:
        return self.login_response(self.outcome)
