"""The SMS factor: a 6-digit code sent to an enrolled phone, answered through ``mfa-oob``.

A challenge returns an ``oob_code`` (256 random bits, the handle of this challenge) and sends a
6-digit ``binding_code`` (NIST SP 800-63B §5.1.3: out-of-band secret, from a CSPRNG). The store
keeps, under the challenge's binding (its mfa_token, or the enrollment being confirmed), the
SHA-256 of the oob_code and a salted HMAC of the code; a code read out of a
copy of Redis is still useless without the oob_code and the mfa_token, kept only as hashes too.
One code per binding: a new challenge replaces the old. A right answer consumes the record with one
compare-and-delete, so a code works once; it expires after ``sms_code_minutes``
(NIST SP 800-63B §5.1.3.2) and is then answered ``expired_token``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authserver.digest import digest
from authserver.errors import ExpiredToken
from authserver.mfa import totp
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.policy import MFA_AMR, factor_of
from authserver.mfa.settings import SMS, MfaSettings
from authserver.mfa.tickets import EXPIRED_MEMORY, FOR_ENROLLMENT, MfaTicket
from authserver.mfa.verification import Attempt, Proof
from authserver.models import Authenticator, User
from authserver.sms.phone import PhoneNumber
from authserver.sms.sender import Delivery, SmsSender
from authserver.store import Namespace

CODE_DIGITS = 6
EXPIRED = "The SMS code has expired. Ask for a new one with /mfa/challenge."


@dataclass(frozen=True)
class OobAnswer:
    """What the user sends back: the challenge's ``oob_code`` (None when the binding alone
    names the challenge, as at ``/confirm``) and the ``binding_code`` from the SMS."""

    oob_code: str | None
    binding_code: str


def ticket_binding(ticket: MfaTicket) -> str:
    return f"ticket:{ticket.key}"


def enrollment_binding(authenticator_id: str) -> str:
    return f"enroll:{authenticator_id}"


def _mac(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


class SmsCodes:
    """The live SMS code of each binding, in the store."""

    def __init__(self, records: Namespace) -> None:
        self._records = records

    def keep(self, binding: str, authenticator_id: str, code: str, ttl: int) -> str:
        """Remember a code that was sent, replacing the binding's last one; its new oob_code."""
        oob_code, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
        record = {"oob": digest(oob_code), "salt": salt, "code": _mac(salt, code),
                  "authenticator_id": authenticator_id, "expires_at": time.time() + ttl}
        self._records.put(binding, json.dumps(record).encode(), ttl + EXPIRED_MEMORY)
        return oob_code

    def redeem(self, binding: str, answer: OobAnswer) -> str | None:
        """The authenticator id if the answer is right (the code is then used up), else None.

        ExpiredToken when the oob_code is right but the code's time is over.
        """
        raw = self._records.get(binding)
        if raw is None:
            return None
        record = json.loads(raw)
        if answer.oob_code is not None and not hmac.compare_digest(
            digest(answer.oob_code), record["oob"]
        ):
            return None
        if record["expires_at"] <= time.time():
            raise ExpiredToken(EXPIRED)
        if not hmac.compare_digest(_mac(record["salt"], answer.binding_code), record["code"]):
            return None
        return record["authenticator_id"] if self._records.release(binding, raw) else None


def new_code() -> str:
    """A 6-digit code from the CSPRNG (NIST SP 800-63B §5.1.3.1)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class SmsFactor:
    """Phones that receive SMS codes. During login enrollment a pending phone may answer, and
    a right code then activates it."""

    name = SMS
    amr = ("sms", MFA_AMR)  # RFC 8176 §2
    answer_format = "the 6 digits of the SMS"

    def __init__(self, authenticators: Authenticators, codes: SmsCodes, sender: SmsSender) -> None:
        self._authenticators = authenticators
        self._codes = codes
        self._sender = sender

    @staticmethod
    def well_formed(code: str) -> bool:
        return totp.is_well_formed(code)  # six digits, as an app's code

    def candidates(self, ticket: MfaTicket) -> list[Authenticator]:
        mine = [a for a in self._authenticators.of_user(ticket.user_id) if factor_of(a) == SMS]
        active = [a for a in mine if a.active]
        return active if active or ticket.purpose != FOR_ENROLLMENT else mine

    def challenge(self, ticket: MfaTicket, authenticator: Authenticator, attempt: Attempt,
                  settings: MfaSettings) -> dict[str, Any]:
        delivery = Delivery(authenticator.user_id, attempt.client_id, attempt.ip,
                            authenticator.id)
        oob_code = self.send(ticket_binding(ticket), self._authenticators.phone(authenticator),
                             delivery, settings)
        return {"challenge_type": "oob", "oob_code": oob_code, "binding_method": "prompt"}

    def send(self, binding: str, to: PhoneNumber, delivery: Delivery,
             settings: MfaSettings) -> str:
        """Send a new code for this binding; the oob_code.

        The code is kept only once the provider took it, replacing the binding's last one: a
        refused or failed send leaves no new code and the last one as it was (a "resend" refused
        by the cool-down must not kill the code the user is reading). Commits the session (the
        credit debit and the audit) along with whatever the caller has pending.
        """
        code = new_code()
        self._sender.send_code(to, code, delivery, settings.sms_rules)
        return self._codes.keep(binding, delivery.authenticator_id, code,
                                settings.sms_code_minutes * 60)

    def check(self, answer: OobAnswer, user: User, ticket: MfaTicket) -> Proof | None:
        return self.confirm(ticket_binding(ticket), answer, user)

    def confirm(self, binding: str, answer: OobAnswer, user: User) -> Proof | None:
        """Redeem the binding's code; activate a pending phone it was sent to."""
        authenticator_id = self._codes.redeem(binding, answer)
        authenticator = (None if authenticator_id is None
                         else self._authenticators.find(user.id, authenticator_id))
        if authenticator is None:
            return None
        confirmed = not authenticator.active
        if confirmed:
            self._authenticators.activate(authenticator)
        self._authenticators.used(authenticator)
        return Proof(authenticator.id, confirmed)
