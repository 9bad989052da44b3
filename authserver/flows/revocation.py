"""Revoking a token a client holds (RFC 7009 §2.1): a refresh token's family or an access token."""

from __future__ import annotations

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.models import Client
from authserver.tokens.access import AccessTokens
from authserver.tokens.refresh import RefreshTokens


class Revocation:
    """Finds what the token is and revokes it, if it belongs to the client; silent otherwise."""

    def __init__(
        self, session: Session, refresh_tokens: RefreshTokens, access_tokens: AccessTokens,
        audit: AuditLog, access_token_ttl: int,
    ) -> None:
        self._session = session
        self._refresh_tokens = refresh_tokens
        self._access_tokens = access_tokens
        self._audit = audit
        self._access_token_ttl = access_token_ttl

    def revoke(self, token: str, client: Client, ip: str | None) -> None:
        if not self._refresh_tokens.revoke(token, client, ip):
            self._revoke_access_token(token, client, ip)
        self._session.commit()

    def _revoke_access_token(self, token: str, client: Client, ip: str | None) -> None:
        claims = self._access_tokens.decode(token)
        if claims is None or claims["client_id"] != client.client_id:
            return
        self._access_tokens.revoke(claims)
        self._audit.record("access_token.revoked", user_id=claims["sub"],
                           client_id=client.client_id, ip=ip)

    def revoke_issued(self, jti: str | None, family_id: str | None, client: Client,
                      ip: str | None) -> None:
        """Revoke what one exchange issued, named by its access token's ``jti`` and its refresh
        family (a replayed authorization code, RFC 6749 §4.1.2); audited
        ``authorization_code.replayed``."""
        if jti is not None:
            self._access_tokens.revoke_id(jti, self._access_token_ttl)
        if family_id is not None:
            self._refresh_tokens.revoke_family(family_id)
        self._audit.record("authorization_code.replayed", client_id=client.client_id, ip=ip,
                           revoked=jti is not None)
        self._session.commit()
