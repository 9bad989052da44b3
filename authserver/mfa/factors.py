"""The second factors behind the challenge endpoint and the MFA grants.

A factor knows which of a user's authenticators are its own, what a challenge does (nothing for
an authenticator app; sending a code for SMS, authserver.mfa.sms), how to check an answer, and
which ``amr`` values (RFC 8176) a right answer adds. The challenge endpoint and the grants look
factors up by name.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from authserver.accounts.users import ensure_not_blocked
from authserver.audit import AuditLog
from authserver.errors import InvalidGrant, InvalidRequest, NotFound, UnauthorizedClient
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.policy import FACTOR_GRANTS, MFA_AMR, factor_of
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import OTP, RECOVERY_CODE, SMS, MfaSettings, MfaSettingsStore
from authserver.mfa.tickets import FOR_ENROLLMENT, MfaTicket, MfaTickets
from authserver.mfa.verification import Attempt, Proof
from authserver.models import Authenticator, Client, User


class Factor(Protocol):
    """What the MFA grants need of a factor."""

    name: str  # as in settings and available_factors
    amr: tuple[str, ...]  # added to the login's amr on success

    def check(self, answer: Any, user: User, ticket: MfaTicket) -> Proof | None:
        """A proof if this is the right answer for this ticket (recorded as used), else None.

        The answer is what the factor's grant read: a code, or an OobAnswer for SMS.
        """


class ChallengeFactor(Factor, Protocol):
    """A factor that ``POST /mfa/challenge`` can start: an authenticator app, SMS."""

    def challenge(self, ticket: MfaTicket, authenticator: Authenticator, attempt: Attempt,
                  settings: MfaSettings) -> dict[str, Any]:
        """Start a challenge with this authenticator; the response body."""

    def candidates(self, ticket: MfaTicket) -> list[Authenticator]:
        """The user's authenticators of this factor that may answer for this ticket."""


class OtpFactor:
    """An authenticator app (RFC 6238). During login enrollment its pending app may answer,
    and a right code then activates it."""

    name = OTP
    amr = ("otp", MFA_AMR)

    def __init__(self, authenticators: Authenticators) -> None:
        self._authenticators = authenticators

    def challenge(self, ticket: MfaTicket, authenticator: Authenticator, attempt: Attempt,
                  settings: MfaSettings) -> dict[str, Any]:
        return {"challenge_type": "otp"}  # the code is already on the user's phone

    def candidates(self, ticket: MfaTicket) -> list[Authenticator]:
        mine = [a for a in self._authenticators.of_user(ticket.user_id) if factor_of(a) == OTP]
        active = [a for a in mine if a.active]
        return active if active or ticket.purpose != FOR_ENROLLMENT else mine

    def check(self, code: str, user: User, ticket: MfaTicket) -> Proof | None:
        accepted = self._authenticators.accept_otp(self.candidates(ticket), code)
        if accepted is None:
            return None
        confirmed = not accepted.active
        if confirmed:
            self._authenticators.activate(accepted)
        return Proof(accepted.id, confirmed)


class RecoveryCodeFactor:
    """A single-use recovery code (adds ``mfa`` alone: it proves no device)."""

    name = RECOVERY_CODE
    amr = (MFA_AMR,)

    def __init__(self, recovery: RecoveryCodes) -> None:
        self._recovery = recovery

    def check(self, code: str, user: User, ticket: MfaTicket) -> Proof | None:
        redeemed = ticket.purpose != FOR_ENROLLMENT and self._recovery.redeem(user.id, code)
        return Proof() if redeemed else None


# challenge_type → factor (README, API: "sms" is a synonym of "oob" over SMS).
CHALLENGE_TYPES = {"otp": OTP, "oob": SMS, "sms": SMS}


class MfaChallenges:
    """``POST /mfa/challenge``: check the mfa_token, pick the authenticator, start the factor."""

    def __init__(
        self, session: Session, settings: MfaSettingsStore, tickets: MfaTickets,
        factors: dict[str, ChallengeFactor], audit: AuditLog,
    ) -> None:
        self._session = session
        self._settings = settings
        self._tickets = tickets
        self._factors = factors
        self._audit = audit

    def challenge(
        self, mfa_token: str, client: Client, ip: str, challenge_type: str,
        authenticator_id: str | None, *, finished_by_grant: bool = True,
    ) -> dict[str, Any]:
        """Start the challenge. ``finished_by_grant`` False: the hosted sign-in pages check the
        answer themselves, so the client's MFA grants do not matter."""
        client_id = client.client_id
        ticket = self._tickets.open(mfa_token, client_id)
        user = self._session.get(User, ticket.user_id)
        if user is None:
            raise InvalidGrant("The user of this mfa_token no longer exists.")
        ensure_not_blocked(user)  # blocked since the password: nothing is sent
        settings = self._settings.load()
        factor = self._factor(challenge_type, settings)
        if finished_by_grant and not client.check_grant_type(FACTOR_GRANTS[factor.name]):
            raise UnauthorizedClient(
                f"This client may not use the grant that finishes a {factor.name} challenge."
            )
        authenticator = self._pick(factor, ticket, authenticator_id)
        attempt = Attempt(client_id, ip, factor.name)
        body = factor.challenge(ticket, authenticator, attempt, settings)
        self._audit.record("mfa.challenge", user_id=ticket.user_id, client_id=client_id, ip=ip,
                           factor=factor.name, authenticator_id=authenticator.id)
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

    @staticmethod
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
