"""The MFA grants' use case (README, API): an mfa_token and a second factor's answer for tokens.

Order (NIST SP 800-63B §5.2.2): the factor must be switched on; the verifier opens the mfa_token
and its user, leases the token, counts the attempt, checks the answer and consumes the token
(authserver.mfa.verification); then the tokens are signed with the login's ``amr`` (``pwd`` or
the first step's, the factor's values, ``mfa``: RFC 8176) and the refresh-token family added;
one commit holds the spent code, the audit events and the family. A refusal commits its audit
events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from authserver.errors import InvalidRequest
from authserver.flows.unit import refusals_kept
from authserver.mfa.factors import Factor
from authserver.mfa.policy import MfaPolicy
from authserver.mfa.risk import LoginContext
from authserver.mfa.settings import MfaSettingsStore
from authserver.mfa.verification import Attempt, MfaVerifier
from authserver.models import Client
from authserver.models.base import utcnow
from authserver.tokens.issuer import Authentication, TokenIssuer, TokenRequest, Tokens


class MfaExchange:
    """mfa_token + answer → tokens."""

    def __init__(
        self, session: Session, settings: MfaSettingsStore, verifier: MfaVerifier,
        issuer: TokenIssuer, policy: MfaPolicy,
    ) -> None:
        self._session = session
        self._settings = settings
        self._verifier = verifier
        self._issuer = issuer
        self._policy = policy

    def run(self, mfa_token: str, factor: Factor, answer: Callable[[], Any], client: Client,
            ip: str) -> Tokens:
        """Tokens for the login; ``answer`` reads the user's answer once the factor is known to
        be on (InvalidRequest when malformed). InvalidGrant, ExpiredToken, LimitReached."""
        settings = self._settings.load()
        if not settings.factor_enabled(factor.name):
            raise InvalidRequest(f"The {factor.name} factor is switched off.")
        check = partial(factor.check, answer())
        self._issuer.ready()
        attempt = Attempt(client.client_id, ip, factor.name)
        with refusals_kept(self._session):
            user, ticket, proof = self._verifier.verify(mfa_token, attempt, settings, check)
        self._policy.remember(user.id, client, LoginContext(ip, ticket.device_id))
        amr = tuple(dict.fromkeys((*ticket.first_amr, *proof.amr, *factor.amr)))
        authn = Authentication(user, amr, utcnow())
        tokens = self._issuer.issue(authn, TokenRequest(client, ticket.scope, ticket.audience))
        self._session.commit()
        return tokens
