"""The client_credentials grant's use case (RFC 6749 §4.4): an access token for the client
itself (RFC 9068 §2.2: ``sub`` is the client), no user, no refresh token, nothing written."""

from __future__ import annotations

from authserver.tokens.issuer import TokenIssuer, TokenRequest, Tokens


class ClientCredentials:
    """A machine client's own access token."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    def run(self, request: TokenRequest) -> Tokens:
        return self._issuer.for_client(request)
