"""The second factors behind the challenge endpoint and the MFA grants.

A factor knows which of a user's authenticators are its own, what a challenge does (nothing for
an authenticator app; sending a code for SMS, authserver.mfa.sms), how to check an answer, and
which ``amr`` values (RFC 8176) a right answer adds. The challenge endpoint and the grants look
factors up by name.
"""

from __future__ import annotations

from typing import Any, Protocol

from authserver.mfa import recovery, totp
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.policy import MFA_AMR, factor_of
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import OTP, RECOVERY_CODE, MfaSettings
from authserver.mfa.tickets import FOR_ENROLLMENT, MfaTicket
from authserver.mfa.verification import Attempt, Proof
from authserver.models import Authenticator, User


class Factor(Protocol):
    """What the MFA grants need of a factor."""

    name: str  # as in settings and available_factors
    amr: tuple[str, ...]  # added to the login's amr on success
    answer_format: str  # what a well-formed code looks like, said when one is not

    def well_formed(self, code: str) -> bool:
        """The code has this factor's shape (checked before any attempt is counted)."""

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
    answer_format = "the 6 digits the authenticator app shows"

    def __init__(self, authenticators: Authenticators) -> None:
        self._authenticators = authenticators

    @staticmethod
    def well_formed(code: str) -> bool:
        return totp.is_well_formed(code)

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
    answer_format = "a recovery code like XXXX-XXXX-XXXX-XXXX"

    def __init__(self, recovery: RecoveryCodes) -> None:
        self._recovery = recovery

    @staticmethod
    def well_formed(code: str) -> bool:
        return recovery.normalize(code) is not None

    def check(self, code: str, user: User, ticket: MfaTicket) -> Proof | None:
        redeemed = ticket.purpose != FOR_ENROLLMENT and self._recovery.redeem(user.id, code)
        return Proof() if redeemed else None
