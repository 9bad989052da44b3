"""``POST /mfa/challenge`` (README, API): start the second step of a login.

Order: the mfa_token must be live and this client's, its user present and not blocked since the
password (nothing is sent otherwise); the factor must be on, and finishable by this client's
grants; the authenticator asked for (or the user's first of the factor) is challenged: nothing
to do for an authenticator app, a code sent for SMS (under the send limits and credits,
authserver.sms.sender, which commits the debit with the send); audited ``mfa.challenge``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import InvalidRequest, NotFound, UnauthorizedClient
from authserver.mfa.factors import ChallengeFactor
from authserver.mfa.policy import FACTOR_GRANTS
from authserver.mfa.settings import OTP, SMS, WEBAUTHN, MfaSettings, MfaSettingsStore
from authserver.mfa.tickets import MfaLogins, MfaTicket
from authserver.mfa.verification import Attempt
from authserver.models import Authenticator, Client

# challenge_type → factor (README, API: "sms" is a synonym of "oob" over SMS; "webauthn"
# answers with request options for the user's passkeys and security keys).
CHALLENGE_TYPES = {"otp": OTP, "oob": SMS, "sms": SMS, "webauthn": WEBAUTHN}


class MfaChallenge:
    """Check the mfa_token, pick the authenticator, start the factor."""

    def __init__(
        self, session: Session, settings: MfaSettingsStore, logins: MfaLogins,
        factors: dict[str, ChallengeFactor], audit: AuditLog,
    ) -> None:
        self._session = session
        self._settings = settings
        self._logins = logins
        self._factors = factors
        self._audit = audit

    def run(
        self, mfa_token: str, client: Client, ip: str, challenge_type: str,
        authenticator_id: str | None, *, finished_by_grant: bool = True,
    ) -> dict[str, Any]:
        """The challenge's answer body. ``finished_by_grant`` False: the hosted sign-in pages
        check the answer themselves, so the client's MFA grants do not matter."""
        ticket, _ = self._logins.open(mfa_token, client.client_id)
        settings = self._settings.load()
        factor = self._factor(challenge_type, settings)
        if finished_by_grant and not client.check_grant_type(FACTOR_GRANTS[factor.name]):
            raise UnauthorizedClient(
                f"This client may not use the grant that finishes a {factor.name} challenge."
            )
        authenticator = _pick(factor, ticket, authenticator_id)
        body = factor.challenge(ticket, authenticator, Attempt(client.client_id, ip, factor.name),
                                settings)
        self._audit.record("mfa.challenge", user_id=ticket.user_id, client_id=client.client_id,
                           ip=ip, factor=factor.name, authenticator_id=authenticator.id)
        self._session.commit()
        return body

    def _factor(self, challenge_type: str, settings: MfaSettings) -> ChallengeFactor:
        name = CHALLENGE_TYPES.get(challenge_type)
        if name is None:
            raise InvalidRequest(
                f"Unknown challenge_type; use one of {', '.join(CHALLENGE_TYPES)}."
            )
        if not settings.factor_enabled(name) or name not in self._factors:
            raise InvalidRequest(f"The {name} factor is switched off.")
        return self._factors[name]


def _pick(factor: ChallengeFactor, ticket: MfaTicket,
          authenticator_id: str | None) -> Authenticator:
    """The authenticator asked for, or the user's first of this factor."""
    authenticators = factor.candidates(ticket)
    if authenticator_id is not None:
        authenticators = [a for a in authenticators if a.id == authenticator_id]
        if not authenticators:
            raise NotFound(f"The user has no {factor.name} authenticator with this id.")
    if not authenticators:
        raise InvalidRequest(f"The user has no {factor.name} authenticator to challenge.")
    return authenticators[0]
