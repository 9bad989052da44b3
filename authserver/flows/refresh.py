"""The refresh_token grant's use case (RFC 6749 §6), with rotation and reuse detection
(RFC 9700 §4.14.2).

Order: the token is looked up for this client (a reused one revokes its family: the revocation
is committed with the refusal, authserver.tokens.refresh); a login without MFA is refused once
the account needs MFA (authserver.mfa.policy); a narrower scope may be asked for (RFC 6749 §6);
then the new tokens are signed and the refresh token rotated; one commit.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from authserver.flows.unit import refusals_kept
from authserver.mfa.policy import MfaPolicy
from authserver.models import Client
from authserver.scopes import parse_scope
from authserver.tokens.issuer import TokenIssuer, TokenRequest, Tokens
from authserver.tokens.refresh import RefreshTokens

# What the grant asks of the scope parameter: given the granted scope, the scope of this refresh.
ScopeAsked = Callable[[tuple[str, ...]], tuple[str, ...]]


class Refresh:
    """A refresh token for new tokens and its successor."""

    def __init__(
        self, session: Session, refresh_tokens: RefreshTokens, policy: MfaPolicy,
        issuer: TokenIssuer,
    ) -> None:
        self._session = session
        self._refresh_tokens = refresh_tokens
        self._policy = policy
        self._issuer = issuer

    def run(self, refresh_token: str, client: Client, scope_asked: ScopeAsked,
            ip: str) -> Tokens:
        """New tokens and the rotated refresh token; InvalidGrant or InvalidScope."""
        self._issuer.ready()
        with refusals_kept(self._session):  # a reused token's family stays revoked
            record, user = self._refresh_tokens.redeemable(refresh_token, client, ip)
            family = record.family
            self._policy.check_refresh(user.id, family.amr, client)
            request = TokenRequest(client, scope_asked(parse_scope(family.scope)),
                                   tuple(family.audience))
            tokens = self._issuer.refreshed(record, user, request, ip)
        self._session.commit()
        return tokens
