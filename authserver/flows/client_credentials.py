"""The client_credentials grant's use case (RFC 6749 §4.4): an access token for the client
itself (RFC 9068 §2.2: ``sub`` is the client), no user, no refresh token, nothing written.

The client comes from the process's cache (authserver.cache), which may be up to 30 seconds old.
One indexed read asks the database whether the client still exists before a token is signed:
a client deleted a moment ago gets ``invalid_client``, and while the database is down the answer
is 503 and never a token, as for every other grant.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from authserver.errors import InvalidClient
from authserver.models import Client
from authserver.tokens.issuer import TokenIssuer, TokenRequest, Tokens


class ClientCredentials:
    """A machine client's own access token."""

    def __init__(self, session: Session, issuer: TokenIssuer) -> None:
        self._session = session
        self._issuer = issuer

    def run(self, request: TokenRequest) -> Tokens:
        exists = select(Client.client_id).where(Client.client_id == request.client.client_id)
        if self._session.scalar(exists) is None:
            raise InvalidClient()
        return self._issuer.for_client(request)
