"""The client_credentials grant (RFC 6749 §4.4): confidential clients only, no user, no refresh."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from authserver.grants.base import ProtektGrant, Response
from authserver.scopes import USER_SCOPES
from authserver.tokens.issuer import TokenRequest


class ClientCredentialsGrant(ProtektGrant, grants.ClientCredentialsGrant):
    """Scopes come from the client's own list; user scopes (openid, ...) make no sense here."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        allowed = [scope for scope in client.scopes if scope not in USER_SCOPES]
        self.token_request = TokenRequest(
            client, self.requested_scope(allowed, ()), self.requested_audience(client)
        )

    def create_token_response(self) -> Response:
        return self.respond(self.services.flows.client_credentials.run(self.token_request).body)
