"""The second factors behind the challenge endpoint and the MFA grants.

A factor knows which of a user's authenticators are its own, what a challenge does (nothing for
an authenticator app; sending a code for SMS, authserver.mfa.sms; request options for a
passkey, authserver.mfa.webauthn), how to check an answer, and
which ``amr`` values (RFC 8176) a right answer adds. The challenge endpoint and the grants look
factors up by name.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from webauthn.helpers.structs import RegistrationCredential

from authserver.errors import InvalidRequest
from authserver.mfa import recovery, totp
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.policy import MFA_AMR, factor_of
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import (
    OTP,
    RECOVERY_CODE,
    UV_REQUIRED,
    WEBAUTHN,
    WEBAUTHN_FACTORS,
    MfaSettings,
    MfaSettingsStore,
)
from authserver.mfa.tickets import FOR_ENROLLMENT, MfaTicket
from authserver.mfa.verification import Attempt, Proof, RefusedAnswer
from authserver.mfa.webauthn import (
    Passkeys,
    key_amr,
    mfa_purpose,
    parse_assertion,
    parse_registration,
)
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


class WebauthnFactor:
    """A passkey or security key (WebAuthn L3 §7.2): the challenge hands the browser request
    options listing the user's credentials; the answer is its assertion, which adds ``hwk`` or
    ``swk`` and ``mfa`` (RFC 8176). During login enrollment the pending passkey's registration
    answers instead and activates it, as an authenticator app's first code does."""

    name = WEBAUTHN
    amr = (MFA_AMR,)
    answer_format = "the browser's PublicKeyCredential, JSON-encoded (credential.toJSON())"

    def __init__(self, authenticators: Authenticators, passkeys: Passkeys,
                 settings: MfaSettingsStore) -> None:
        self._authenticators = authenticators
        self._passkeys = passkeys
        self._settings = settings

    @staticmethod
    def parse(text: str) -> Any:
        """The registration (while enrolling) or assertion the text holds; InvalidRequest."""
        try:
            response = json.loads(text).get("response", {})
        except (ValueError, AttributeError, RecursionError):
            response = {}  # malformed: parse_assertion below says how
        registration = isinstance(response, dict) and "attestationObject" in response
        return parse_registration(text) if registration else parse_assertion(text)

    def well_formed(self, text: str) -> bool:
        try:
            self.parse(text)
        except InvalidRequest:
            return False
        return True

    def challenge(self, ticket: MfaTicket, authenticator: Authenticator, attempt: Attempt,
                  settings: MfaSettings) -> dict[str, Any]:
        options = self._passkeys.request_options(
            mfa_purpose(ticket.key), ticket.user_id, self.candidates(ticket),
            user_verification=settings.webauthn_user_verification)
        return {"challenge_type": WEBAUTHN, "options": options}

    def candidates(self, ticket: MfaTicket) -> list[Authenticator]:
        settings = self._settings.load()
        return [a for a in self._authenticators.of_user(ticket.user_id, active=True)
                if a.type in WEBAUTHN_FACTORS and settings.factor_enabled(a.type)]

    def check(self, answer: Any, user: User, ticket: MfaTicket) -> Proof | None:
        require_uv = self._settings.load().webauthn_user_verification == UV_REQUIRED
        if isinstance(answer, RegistrationCredential):
            return self._first_use(answer, user, ticket, require_uv)
        mine = {a.credential_id: a for a in self.candidates(ticket)}

        def find(credential_id: bytes, user_handle: bytes | None) -> Authenticator | None:
            if user_handle is not None and user_handle != user.id.encode():
                return None
            return mine.get(credential_id)

        assertion = self._passkeys.verify(mfa_purpose(ticket.key), user.id, answer, find,
                                          require_uv=require_uv)
        return Proof(assertion.authenticator.id, amr=(key_amr(assertion.authenticator),))

    def _first_use(self, registration: RegistrationCredential, user: User, ticket: MfaTicket,
                   require_uv: bool) -> Proof:
        pending = [a for a in self._authenticators.of_user(user.id, active=False)
                   if a.type in WEBAUTHN_FACTORS]
        if ticket.purpose != FOR_ENROLLMENT or not pending:
            raise RefusedAnswer("A passkey registration answers here only while enrolling "
                                "one during login; answer with an assertion instead.",
                                reason="unexpected_registration")
        self._passkeys.register(pending[0], user, registration, require_uv=require_uv)
        self._authenticators.activate(pending[0])
        return Proof(pending[0].id, confirmed=True, amr=(key_amr(pending[0]),))
