"""The MFA settings: one object, stored in the database, edited by operators.

Each knob has a default and the reason for it. The row is created on the first change; until
then the defaults apply. The CLI (``protekt mfa settings``) edits them now, the dashboard and the
management API later, all through :meth:`MfaSettingsStore.update`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.cache import SharedCache
from authserver.errors import InvalidRequest
from authserver.models import MfaSettingsRow
from authserver.sms import template
from authserver.sms.phone import known_country
from authserver.sms.sender import SendRules

OTP = "otp"
SMS = "sms"
RECOVERY_CODE = "recovery-code"
# WebAuthn credentials (authserver.mfa.webauthn): one bound to the device (a platform passkey:
# Touch ID, Windows Hello, a phone), or one the user carries (a security key).
WEBAUTHN_PLATFORM = "webauthn-platform"
WEBAUTHN_ROAMING = "webauthn-roaming"
WEBAUTHN_FACTORS: tuple[str, ...] = (WEBAUTHN_PLATFORM, WEBAUTHN_ROAMING)
WEBAUTHN = "webauthn"  # the challenge that either kind answers; on while either is on
FACTORS: tuple[str, ...] = (OTP, SMS, *WEBAUTHN_FACTORS, RECOVERY_CODE)

OPTIONAL = "optional"  # a user who enrolled is challenged (the guide's behaviour)
REQUIRED = "required"  # every user must enroll before getting tokens
POLICIES = (OPTIONAL, REQUIRED)

# WebAuthn user verification (WebAuthn L3 §5.8.6): "required" refuses an authenticator that did
# not check a PIN or biometric; "preferred" takes a security key without one as a second factor.
UV_REQUIRED = "required"
UV_PREFERRED = "preferred"
USER_VERIFICATIONS = (UV_REQUIRED, UV_PREFERRED)


@dataclass(frozen=True)
class MfaSettings:
    """What an operator chooses about MFA; the defaults are the product's recommendation."""

    #: MFA on: enrolled users are challenged. Off: passwords alone log in, nobody can enroll.
    enabled: bool = True
    #: The factors users may enroll and use.
    factors: tuple[str, ...] = FACTORS
    #: ``optional`` or ``required`` (every user must enroll; NIST SP 800-63B §4.2.1 AAL2).
    policy: str = OPTIONAL
    #: The issuer shown by authenticator apps (Key Uri Format, "issuer" parameter).
    totp_issuer: str = "Protekt"
    #: Seconds an mfa_token lives (README, API: 10 minutes).
    mfa_token_ttl: int = 600
    #: Wrong codes per mfa_token before it is void (NIST SP 800-63B §5.2.2 rate limiting).
    token_max_failures: int = 5
    #: Failures per user across mfa_tokens before throttling: a burst of this many...
    user_failure_burst: int = 10
    #: ...then one more every this many seconds (10 per hour at most).
    user_failure_drain: int = 360
    #: Consecutive failures that lock the user's second factor (NIST SP 800-63B §5.2.2: ≤ 100).
    user_max_consecutive_failures: int = 100
    #: The SMS text; {code} is required, {app_name} is the TOTP issuer, {minutes} the code's life.
    sms_template: str = template.DEFAULT_TEMPLATE
    #: Send a code to a new number and keep it pending until the code comes back. Off by
    #: default, as the guide promises immediate SMS enrollment; on proves possession
    #: (NIST SP 800-63B §5.1.3.3).
    sms_confirm_phone: bool = False
    #: Minutes an SMS code is valid (NIST SP 800-63B §5.1.3.2 asks for a short life).
    sms_code_minutes: int = 5
    #: Seconds between two codes sent to one authenticator (resend cool-down).
    sms_resend_cooldown: int = 30
    #: SMS per user per hour, per phone number per hour, per client IP per hour: caps on
    #: what an attacker can make the deployment pay for (SMS pumping).
    sms_user_hourly: int = 10
    sms_phone_hourly: int = 10
    sms_ip_hourly: int = 50
    #: ISO 3166-1 alpha-2 countries SMS may go to; empty allows all.
    sms_allowed_countries: tuple[str, ...] = ()
    #: An audit event ``sms.credits.low`` is recorded when the balance falls to this.
    sms_low_credit_threshold: int = 100
    #: Passkeys as a second factor: ``required`` (a PIN or biometric on the authenticator) or
    #: ``preferred``. A passwordless sign-in always requires it (NIST SP 800-63B §5.1.8.1).
    webauthn_user_verification: str = UV_PREFERRED
    #: A passwordless passkey sign-in (user verified) counts as MFA: the passkey is something
    #: the user has, unlocked by something they know or are (NIST SP 800-63B §5.1.9, a
    #: multi-factor cryptographic authenticator). Off: such a sign-in still needs a second factor.
    passkey_counts_as_mfa: bool = True
    #: Dashboard administrators sign in with a passkey or security key only: a factor phishing
    #: cannot relay (NIST SP 800-63B §5.2.5). One without adds one after their current factor.
    admins_phishing_resistant: bool = False
    #: Adaptive MFA (applications whose rule is ``adaptive``; README, MFA policies): each risk
    #: signal's weight, the failures that make a signal, the score from which a login is of
    #: medium risk (a second factor) and of high risk (a passkey, or a refusal when
    #: ``adaptive_block_high``), and the days a device or network stays known unused.
    adaptive_weight_new_device: int = 2
    adaptive_weight_new_network: int = 1
    adaptive_weight_failures: int = 2
    adaptive_weight_common_password: int = 2
    adaptive_failures: int = 3
    adaptive_medium: int = 2
    adaptive_high: int = 4
    adaptive_block_high: bool = False
    adaptive_memory_days: int = 90
    #: Days a browser the user asked to remember, after a second factor on the hosted pages,
    #: skips the deployment's and an adaptive application's prompt (never a group's, an
    #: ``always`` application's or ``acr_values``); 0 offers no such box.
    remember_device_days: int = 30

    def factor_enabled(self, factor: str) -> bool:
        if factor == WEBAUTHN:
            return self.passkeys_enabled
        return self.enabled and factor in self.factors

    @property
    def enrollable_factors(self) -> tuple[str, ...]:
        """The enabled factors a user can enroll (recovery codes come with them)."""
        return tuple(f for f in self.factors if f != RECOVERY_CODE)

    @property
    def passkeys_enabled(self) -> bool:
        """A WebAuthn factor is on: passkeys may be enrolled and used to sign in."""
        return any(self.factor_enabled(f) for f in WEBAUTHN_FACTORS)

    @property
    def sms_rules(self) -> SendRules:
        """What the SMS sender needs of these settings."""
        return SendRules(
            template=self.sms_template, app_name=self.totp_issuer,
            minutes=self.sms_code_minutes, resend_cooldown=self.sms_resend_cooldown,
            user_hourly=self.sms_user_hourly, phone_hourly=self.sms_phone_hourly,
            ip_hourly=self.sms_ip_hourly, allowed_countries=self.sms_allowed_countries,
            low_credit_threshold=self.sms_low_credit_threshold,
        )

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["factors"] = list(self.factors)
        values["sms_allowed_countries"] = list(self.sms_allowed_countries)
        return values


# Whole-number settings: (lowest, highest) allowed; the dashboard shows them as min and max.
BOUNDS = {
    "mfa_token_ttl": (60, 3600),
    "token_max_failures": (1, 10),
    "user_failure_burst": (1, 100),
    "user_failure_drain": (1, 86400),
    "user_max_consecutive_failures": (1, 100),
    "sms_code_minutes": (1, 15),
    "sms_resend_cooldown": (1, 3600),
    "sms_user_hourly": (1, 1000),
    "sms_phone_hourly": (1, 1000),
    "sms_ip_hourly": (1, 100000),
    "sms_low_credit_threshold": (0, 10**9),
    "adaptive_weight_new_device": (0, 10),
    "adaptive_weight_new_network": (0, 10),
    "adaptive_weight_failures": (0, 10),
    "adaptive_weight_common_password": (0, 10),
    "adaptive_failures": (1, 100),
    "adaptive_medium": (1, 40),
    "adaptive_high": (1, 40),
    "adaptive_memory_days": (1, 3650),
    "remember_device_days": (0, 365),
}


def checked(settings: MfaSettings) -> MfaSettings:
    """The settings, or InvalidRequest naming the first field that is wrong, and why."""
    unknown = [f for f in settings.factors if f not in FACTORS]
    if unknown:
        raise InvalidRequest(f"Unknown factor '{unknown[0]}'; known: {', '.join(FACTORS)}.")
    if settings.policy not in POLICIES:
        raise InvalidRequest(f"policy must be one of {', '.join(POLICIES)}.")
    if settings.admins_phishing_resistant and not settings.passkeys_enabled:
        raise InvalidRequest("admins_phishing_resistant needs a passkey factor "
                             "(webauthn-platform or webauthn-roaming) switched on.")
    if settings.webauthn_user_verification not in USER_VERIFICATIONS:
        raise InvalidRequest(
            f"webauthn_user_verification must be one of {', '.join(USER_VERIFICATIONS)}.")
    if not settings.enrollable_factors:
        raise InvalidRequest(
            "factors must include one users can enroll (otp, sms or a webauthn one); to stop "
            "MFA, switch it off."
        )
    _check_values(settings)
    template.check(settings.sms_template, settings.totp_issuer, settings.sms_code_minutes)
    return settings


def _check_values(settings: MfaSettings) -> None:
    """Types and bounds of the single values."""
    for name in ("enabled", "sms_confirm_phone", "passkey_counts_as_mfa",
                 "admins_phishing_resistant", "adaptive_block_high"):
        if not isinstance(getattr(settings, name), bool):
            raise InvalidRequest(f"{name} must be true or false.")
    issuer = settings.totp_issuer
    if not 1 <= len(issuer) <= 64 or issuer != issuer.strip() or ":" in issuer:
        raise InvalidRequest(
            "totp_issuer must be 1 to 64 characters, without ':' or spaces at either end."
        )
    for name, (low, high) in BOUNDS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidRequest(f"{name} must be a whole number from {low} to {high}.")
    if settings.adaptive_high < settings.adaptive_medium:
        raise InvalidRequest("adaptive_high must be at least adaptive_medium.")
    strange = [c for c in settings.sms_allowed_countries if not known_country(c)]
    if strange:
        raise InvalidRequest(
            f"sms_allowed_countries: {strange[0]!r} is not an ISO 3166-1 alpha-2 country code."
        )


def _typed(name: str, value: Any) -> Any:
    """A changed value as the settings hold it (lists as tuples, without repeats);
    InvalidRequest when a list or a text is of another kind (numbers and flags: checked())."""
    default = getattr(MfaSettings(), name)
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise InvalidRequest(f"{name} must be a list of strings.")
        return tuple(dict.fromkeys(value))
    if isinstance(default, str) and not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string.")
    return value


class MfaSettingsStore:
    """Loads and changes the one settings row."""

    ROW_ID = 1

    def __init__(self, session: Session, audit: AuditLog, cache: SharedCache) -> None:
        self._session = session
        self._audit = audit
        self._cache = cache

    def load(self) -> MfaSettings:
        """The settings in force (kept in process until an administrator changes them)."""
        return self._cache.get(MfaSettings, self._read)

    def _read(self) -> MfaSettings:
        row = self._session.get(MfaSettingsRow, self.ROW_ID)
        if row is None:
            return MfaSettings()
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(MfaSettings)}
        for name in ("factors", "sms_allowed_countries"):
            values[name] = tuple(values[name])
        return MfaSettings(**values)

    def update(self, **changes: Any) -> MfaSettings:
        """Apply changes (field names of MfaSettings), check them all, store, audit; the caller
        commits, and then drops every process's cached settings (authserver.cache)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(MfaSettings)})
        if unknown:
            raise InvalidRequest(f"Unknown MFA setting '{unknown[0]}'.")
        changes = {name: _typed(name, value) for name, value in changes.items()}
        before = self.load()
        settings = checked(dataclasses.replace(before, **changes))
        changed = sorted(n for n in changes if getattr(before, n) != getattr(settings, n))
        if not changed:  # a form saved as it was: nothing to store or audit
            return settings
        row = self._session.get(MfaSettingsRow, self.ROW_ID) or MfaSettingsRow(id=self.ROW_ID)
        for name, value in settings.as_dict().items():
            setattr(row, name, value)
        self._session.add(row)
        self._audit.record("mfa.settings.updated", changed=changed)
        return settings
