"""The refresh_token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from authserver.grants.base import ProtektGrant, Response
from authserver.scopes import parse_scope
from authserver.tokens.issuer import TokenRequest


class RefreshTokenGrant(ProtektGrant, grants.RefreshTokenGrant):
    """A narrower scope may be asked for; the token always rotates."""

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        self.record = self.services.refresh_tokens.redeemable(
            self.param("refresh_token"), client, self.request.client_ip
        )
        family = self.record.family
        self.services.mfa.policy.check_refresh(family.user_id, family.amr)
        granted = parse_scope(family.scope)
        self.token_request = TokenRequest(
            client, self.requested_scope(granted, granted), tuple(self.record.family.audience)
        )

    def create_token_response(self) -> Response:
        body = self.services.issuer.after_refresh(
            self.record, self.token_request, self.request.client_ip
        )
        return self.respond(body)
