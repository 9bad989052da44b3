"""The refresh_token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from authserver.grants.base import ProtektGrant, Response
from authserver.tokens.issuer import Tokens


class RefreshTokenGrant(ProtektGrant, grants.RefreshTokenGrant):
    """A narrower scope may be asked for; the token always rotates
    (authserver.flows.refresh)."""

    tokens: Tokens

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        self.tokens = self.services.flows.refresh.run(
            self.param("refresh_token"), client, self._scope_asked, self.request.client_ip)

    def _scope_asked(self, granted: tuple[str, ...]) -> tuple[str, ...]:
        """The scope parameter within what the login was granted; all of it when absent."""
        return self.requested_scope(granted, granted)

    def create_token_response(self) -> Response:
        return self.respond(self.tokens.body)
