"""The revocation endpoint (RFC 7009), registered on the authorization server beside the grants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc7009 import RevocationEndpoint

from authserver.errors import InvalidRequest

if TYPE_CHECKING:
    from authserver.authorization import ProtektRequest


class TokenRevocation(RevocationEndpoint):
    """Answers 200 for unknown and foreign tokens alike (RFC 7009 §2.2), so it is no oracle.

    ``token_type_hint`` is ignored, as RFC 7009 §2.1 allows: both kinds are looked for.
    """

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def create_endpoint_response(self, request: ProtektRequest) -> tuple[int, Any, list[Any]]:
        client = self.authenticate_endpoint_client(request)
        token = request.form.get("token")
        if not token:
            raise InvalidRequest("Missing 'token' parameter.")
        self.server.services.revocation.revoke(token, client, request.client_ip)
        return 200, {}, list(default_json_headers)
