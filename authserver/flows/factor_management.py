"""Managing a user's own factors (README, API): enroll, confirm, list, remove, new recovery codes.

Who may do what:

* an **mfa_token** (during login) may list the user's authenticators, and may enroll only while
  the user has no active authenticator (login enrollment under policy ``required``);
* an **access token** needs ``enroll`` to add factors and make new recovery codes,
  ``read:authenticators`` to list, ``remove:authenticators`` to remove;
* once the user has an active authenticator, adding, confirming and removing factors and
  regenerating recovery codes need an access token whose ``amr`` holds ``mfa``: changing the
  factors takes authentication at the account's current level (NIST SP 800-63B §6.1.2.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import AccessDenied, InsufficientScope, InvalidRequest, MfaRequired
from authserver.flows.unit import refusals_kept
from authserver.mfa import totp
from authserver.mfa.authenticators import TYPE_OOB, TYPE_OTP, Authenticators
from authserver.mfa.inventory import FactorInventory
from authserver.mfa.policy import MFA_AMR, factor_of
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import (
    RECOVERY_CODE,
    SMS,
    UV_REQUIRED,
    WEBAUTHN_FACTORS,
    WEBAUTHN_PLATFORM,
    MfaSettings,
    MfaSettingsStore,
)
from authserver.mfa.sms import OobAnswer, SmsFactor, enrollment_binding, ticket_binding
from authserver.mfa.tickets import MfaTicket
from authserver.mfa.verification import Attempt, MfaVerifier, Proof
from authserver.mfa.webauthn import Passkeys, key_amr, parse_registration
from authserver.models import Authenticator, User
from authserver.models.base import new_id
from authserver.scopes import ENROLL, READ_AUTHENTICATORS, REMOVE_AUTHENTICATORS
from authserver.sms import phone
from authserver.sms.sender import Delivery

MAX_AUTHENTICATORS = 10
DEFAULT_NAME = "Authenticator app"
PASSKEY_NAMES = {WEBAUTHN_PLATFORM: "Passkey"}  # else "Security key"


class SessionsOfUsers(Protocol):
    """The sign-in sessions of users (authserver.accounts.sessions), as far as factors go."""

    def end_all(self, user_id: str) -> None:
        """End every session the user has."""


@dataclass(frozen=True)
class Enrollment:
    """What ``POST /mfa/associate`` asks for: the factor, a name, and for SMS the number."""

    factor: str
    name: str | None = None
    phone_number: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """A first code: ``otp`` from an app, or ``binding_code`` (and optionally the
    ``oob_code``) from the SMS sent at enrollment; for a passkey, the browser's registration
    (``credential``, a RegistrationResponseJSON)."""

    otp: str | None = None
    binding_code: str | None = None
    oob_code: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who calls: a user through an access token (scopes, amr) or through an mfa_token."""

    user: User
    client_id: str
    ip: str
    scopes: frozenset[str] = frozenset()
    amr: tuple[str, ...] = ()
    ticket: MfaTicket | None = None


class MfaAccount:
    """The /mfa/* operations on the caller's own factors, with their authorization rules."""

    def __init__(
        self, session: Session, settings: MfaSettingsStore, authenticators: Authenticators, *,
        recovery: RecoveryCodes, verifier: MfaVerifier, sms: SmsFactor, passkeys: Passkeys,
        audit: AuditLog, sso_sessions: SessionsOfUsers,
    ) -> None:
        self._session = session
        self._settings = settings
        self._authenticators = authenticators
        self._recovery = recovery
        self._verifier = verifier
        self._sms = sms
        self._passkeys = passkeys
        self._audit = audit
        self._sso_sessions = sso_sessions
        self._inventory = FactorInventory(session, authenticators, recovery)

    def associate(self, who: Principal, asked: Enrollment) -> dict[str, Any]:
        """Enroll an authenticator app (pending until a first code confirms it) or a phone
        (active at once, unless ``sms_confirm_phone``: then a code is sent to confirm it).

        The user's row is locked first, so parallel associations with one mfa_token cannot all
        pass the "no active authenticator yet" rule.

        Until the user has an active authenticator, every association also brings a new set of
        recovery codes (voiding any earlier one): a first enrollment always shows the codes that
        will work, even when an earlier answer was lost.
        """
        settings = self._enabled_settings(asked.factor)
        if who.ticket is not None and who.ticket.factors and asked.factor not in who.ticket.factors:
            raise InvalidRequest(f"This login takes {', '.join(who.ticket.factors)}; enroll one "
                                 "of those.")
        self._authenticators.lock_user(who.user.id)
        usable = self._authorize(who, ENROLL, changes=True, ticket_may=True)
        if len(usable) >= MAX_AUTHENTICATORS:
            raise InvalidRequest(f"A user may have at most {MAX_AUTHENTICATORS} authenticators.")
        if asked.factor == SMS:
            body = self._associate_phone(who, asked, settings)
        elif asked.factor in WEBAUTHN_FACTORS:
            body = self._associate_passkey(who, asked, settings)
        else:
            body = self._associate_app(who, asked, settings)
        if settings.factor_enabled(RECOVERY_CODE) and not usable:
            body["recovery_codes"] = self._recovery.replace_set(who.user.id)
        self._record(who, "mfa.enrolled", authenticator_id=body["id"], factor=asked.factor,
                     recovery_codes="recovery_codes" in body)
        return body

    def _associate_app(self, who: Principal, asked: Enrollment,
                       settings: MfaSettings) -> dict[str, Any]:
        self._authenticators.drop_pending(who.user.id, TYPE_OTP)
        authenticator, secret = self._authenticators.add_otp(who.user.id,
                                                             _name(asked.name, DEFAULT_NAME))
        uri = totp.provisioning_uri(secret, settings.totp_issuer, who.user.email)
        return {"id": authenticator.id, "authenticator_type": TYPE_OTP, "secret": secret,
                "barcode_uri": uri, "qr_code": totp.qr_code(uri)}

    def _associate_passkey(self, who: Principal, asked: Enrollment,
                           settings: MfaSettings) -> dict[str, Any]:
        """A pending passkey or security key, and the options the browser creates it with
        (WebAuthn L3 §5.4); one pending passkey at a time, the user's others excluded."""
        self._authenticators.drop_pending(who.user.id, *WEBAUTHN_FACTORS)
        name = _name(asked.name, PASSKEY_NAMES.get(asked.factor, "Security key"))
        authenticator = self._authenticators.add_passkey(who.user.id, asked.factor, name)
        options = self._passkeys.creation_options(
            who.user, authenticator, rp_name=settings.totp_issuer,
            user_verification=settings.webauthn_user_verification,
            exclude=self._authenticators.of_user(who.user.id, active=True))
        return {"id": authenticator.id, "authenticator_type": asked.factor, "options": options}

    def _associate_phone(self, who: Principal, asked: Enrollment,
                         settings: MfaSettings) -> dict[str, Any]:
        """A phone; with confirmation on, the code goes out before anything is written, so a
        refused or failed send leaves no pending phone behind."""
        if asked.phone_number is None:
            raise InvalidRequest("'phone_number' is required to enroll sms.")
        number = phone.parse(asked.phone_number, settings.sms_allowed_countries)
        active = {p.e164 for p in self._authenticators.phones(who.user.id, active=True)}
        if number.e164 in active:
            raise InvalidRequest("This phone number is already enrolled.")
        name = _name(asked.name, number.masked)
        body: dict[str, Any] = {"id": new_id(), "authenticator_type": TYPE_OOB,
                                "oob_channel": SMS, "active": not settings.sms_confirm_phone}
        if settings.sms_confirm_phone:
            binding = (enrollment_binding(body["id"]) if who.ticket is None
                       else ticket_binding(who.ticket))
            delivery = Delivery(who.user.id, who.client_id, who.ip, body["id"])
            body["oob_code"] = self._sms.send(binding, number, delivery, settings)
            body["binding_method"] = "prompt"
        self._authenticators.drop_pending(who.user.id, TYPE_OOB)
        self._authenticators.add_sms(body["id"], who.user.id, name, number,
                                     active=body["active"])
        return body

    def confirm(self, who: Principal, authenticator_id: str,
                answer: Confirmation) -> dict[str, Any]:
        """Activate a pending authenticator with a first code from it, under the user's
        attempt limits (NIST SP 800-63B §5.2.2), like any other code."""
        settings = self._settings.load()
        self._authorize(who, ENROLL, changes=True)
        authenticator = self._inventory.find(who.user.id, authenticator_id)
        if authenticator.active:
            raise InvalidRequest("This authenticator is already confirmed.")
        factor = factor_of(authenticator)
        check = self._first_code_check(who, authenticator, answer)
        with refusals_kept(self._session):
            self._verifier.guarded(Attempt(who.client_id, who.ip, factor), who.user, settings,
                                   check, failure_event="mfa.confirm.failure")
        self._authenticators.activate(authenticator)
        self._record(who, "mfa.confirmed", authenticator_id=authenticator.id, factor=factor)
        return {"id": authenticator.id, "authenticator_type": authenticator.type, "active": True}

    def _first_code_check(self, who: Principal, authenticator: Authenticator,
                          answer: Confirmation) -> Callable[[], Proof | None]:
        """The check of a confirmation: the app's code, the code the SMS carried, or the
        passkey's registration."""
        if authenticator.type in WEBAUTHN_FACTORS:
            return self._registration_check(who, authenticator, answer)
        if factor_of(authenticator) == SMS:
            code = _six_digits(answer.binding_code, "binding_code", "the 6 digits of the SMS")
            oob = OobAnswer(answer.oob_code, code)
            return lambda: self._sms.confirm(enrollment_binding(authenticator.id), oob, who.user)
        code = _six_digits(answer.otp, "otp", "the 6 digits the authenticator app shows")

        def check() -> Proof | None:
            accepted = self._authenticators.accept_otp([authenticator], code)
            return None if accepted is None else Proof(accepted.id, confirmed=True)

        return check

    def _registration_check(self, who: Principal, authenticator: Authenticator,
                            answer: Confirmation) -> Callable[[], Proof | None]:
        if answer.credential is None:
            raise InvalidRequest("'credential' is required: the browser's answer to the "
                                 "options /mfa/associate gave (a RegistrationResponseJSON).")
        registration = parse_registration(answer.credential)
        require_uv = self._settings.load().webauthn_user_verification == UV_REQUIRED

        def check() -> Proof:
            self._passkeys.register(authenticator, who.user, registration, require_uv=require_uv)
            return Proof(authenticator.id, confirmed=True, amr=(key_amr(authenticator),))

        return check

    def listing(self, who: Principal) -> list[dict[str, Any]]:
        """The user's authenticators, and the recovery codes left (README, API)."""
        self._authorize(who, READ_AUTHENTICATORS, changes=False, ticket_may=True)
        return self._inventory.listing(who.user.id)

    def remove(self, who: Principal, authenticator_id: str) -> None:
        """Delete an authenticator; removing the last active one voids the recovery codes. The
        user's sign-in sessions end: one may have been opened with it (NIST SP 800-63B
        §6.1.2.3)."""
        self._authorize(who, REMOVE_AUTHENTICATORS, changes=True)
        authenticator = self._inventory.find(who.user.id, authenticator_id)
        self._inventory.remove(authenticator)
        self._sso_sessions.end_all(who.user.id)
        self._record(who, "mfa.removed", authenticator_id=authenticator_id,
                     factor=factor_of(authenticator))

    def regenerate_recovery_codes(self, who: Principal) -> list[str]:
        """A new set of recovery codes; the old set stops working."""
        self._enabled_settings(RECOVERY_CODE)
        if not self._authorize(who, ENROLL, changes=True):
            raise InvalidRequest(
                "Recovery codes back up an active authenticator; enroll one first."
            )
        codes = self._recovery.replace_set(who.user.id)
        self._record(who, "mfa.recovery_codes.regenerated")
        return codes

    def _enabled_settings(self, factor: str) -> MfaSettings:
        settings = self._settings.load()
        if not settings.enabled:
            raise InvalidRequest("MFA is switched off for this deployment.")
        if factor not in settings.factors:
            raise InvalidRequest(f"The {factor} factor is switched off.")
        return settings

    def _authorize(self, who: Principal, scope: str, *, changes: bool,
                   ticket_may: bool = False) -> list[Authenticator]:
        """Raise unless the caller may do this; returns the user's usable authenticators
        (active, of a factor that is on): with one, changes need an mfa login.

        A dashboard administrator's factors guard the console
        (authserver.flows.dashboard_signin), so they are never changed here, where settings
        decide which factors count and an SMS login passes for MFA: only the dashboard changes
        them (NIST SP 800-63B §6.1.2.1).
        """
        if changes and who.user.is_admin:
            raise AccessDenied("A dashboard administrator's factors are managed in the "
                               "dashboard, not through /mfa.")
        settings = self._settings.load()
        usable = [a for a in self._authenticators.of_user(who.user.id, active=True)
                  if settings.factor_enabled(factor_of(a))]
        if who.ticket is not None:
            if not ticket_may:
                raise InsufficientScope(
                    f"An mfa_token cannot do this; use an access token with scope {scope}."
                )
            if changes and usable:
                raise MfaRequired(
                    "The user already has an authenticator: answer the challenge first, then "
                    "enroll with an access token whose amr holds mfa."
                )
            return usable
        if scope not in who.scopes:
            raise InsufficientScope(f"The access token needs the {scope} scope.")
        if changes and usable and MFA_AMR not in who.amr:
            raise MfaRequired(
                "Changing factors needs a login with MFA: log in again with your second "
                "factor, then retry with the new access token."
            )
        return usable

    def _record(self, who: Principal, event: str, **detail: Any) -> None:
        self._audit.record(event, user_id=who.user.id, client_id=who.client_id, ip=who.ip,
                           **detail)
        self._session.commit()


def _name(name: str | None, default: str) -> str:
    name = (name or default).strip()
    if not 1 <= len(name) <= 100:
        raise InvalidRequest("'name' must be 1 to 100 characters long.")
    return name


def _six_digits(code: str | None, parameter: str, what: str) -> str:
    if code is None or not totp.is_well_formed(code):
        raise InvalidRequest(f"'{parameter}' must be {what}.")
    return code
