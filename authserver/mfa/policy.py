"""When a login needs a second factor, and what the client is told (README, API).

With MFA on, a user with an active authenticator of an enabled factor must answer a challenge;
under policy ``required`` a user without one must enroll first (NIST SP 800-63B §4.2.1: AAL2
needs two factors). Either way the password grant answers ``403 mfa_required`` with an
mfa_token instead of tokens, and no other grant may hand out tokens for such a user without the
second factor: a refresh token from a password-only login stops working once the account has MFA.
"""

from __future__ import annotations

from dataclasses import dataclass

from authserver.audit import AuditLog
from authserver.clients import MFA_OOB, MFA_OTP, MFA_RECOVERY_CODE, MFA_WEBAUTHN
from authserver.errors import InvalidGrant
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import (
    OTP,
    RECOVERY_CODE,
    REQUIRED,
    SMS,
    WEBAUTHN,
    WEBAUTHN_FACTORS,
    MfaSettings,
    MfaSettingsStore,
)
from authserver.mfa.tickets import FOR_CHALLENGE, FOR_ENROLLMENT, MfaTickets
from authserver.models import Authenticator, User
from authserver.scopes import format_scope

MFA_AMR = "mfa"  # RFC 8176 §2
# The grant that takes each factor's answer: a client without it cannot finish that factor.
FACTOR_GRANTS = {OTP: MFA_OTP, SMS: MFA_OOB, RECOVERY_CODE: MFA_RECOVERY_CODE,
                 WEBAUTHN: MFA_WEBAUTHN, **dict.fromkeys(WEBAUTHN_FACTORS, MFA_WEBAUTHN)}


def factor_of(authenticator: Authenticator) -> str:
    """The factor name (settings, available_factors) of an authenticator: otp, sms,
    webauthn-platform or webauthn-roaming."""
    return authenticator.oob_channel or authenticator.type


@dataclass(frozen=True)
class PendingLogin:
    """A login waiting for its second factor: the client, what it asked for, from where, and
    how its first step authenticated (``pwd``, or a passkey's values)."""

    client_id: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    ip: str
    amr: tuple[str, ...] = ("pwd",)


@dataclass(frozen=True)
class Requirement:
    """What the user must do: answer a challenge with one of ``factors``, or enroll one."""

    kind: str
    factors: tuple[str, ...]


class MfaPolicy:
    """Decides whether a login needs MFA, and issues the mfa_token when it does."""

    def __init__(
        self, settings: MfaSettingsStore, authenticators: Authenticators, *,
        recovery: RecoveryCodes, tickets: MfaTickets, audit: AuditLog,
    ) -> None:
        self._settings = settings
        self._authenticators = authenticators
        self._recovery = recovery
        self._tickets = tickets
        self._audit = audit

    def needs_mfa(self, user_id: str, settings: MfaSettings) -> bool:
        """MFA is on, and the user has an active authenticator or the policy requires one."""
        return settings.enabled and (
            settings.policy == REQUIRED or self._authenticators.has_active(user_id)
        )

    def requirement(self, user_id: str, settings: MfaSettings, *,
                    demanded: bool = False) -> Requirement | None:
        """None when the password is enough.

        A user whose only authenticators belong to a factor the operator switched off is not
        let through on the password: they must enroll a factor that is on. ``demanded``: the
        app asked for a second factor (``acr_values``, OIDC Core §3.1.2.1), whatever the policy.
        """
        if not (demanded or self.needs_mfa(user_id, settings)):
            return None
        usable = [factor_of(a) for a in self._authenticators.of_user(user_id, active=True)
                  if settings.factor_enabled(factor_of(a))]
        if not usable:
            return Requirement(FOR_ENROLLMENT, settings.enrollable_factors)
        if settings.factor_enabled(RECOVERY_CODE) and self._recovery.remaining(user_id):
            usable.append(RECOVERY_CODE)
        return Requirement(FOR_CHALLENGE, tuple(dict.fromkeys(usable)))

    def start(self, user: User, login: PendingLogin, needed: Requirement,
              settings: MfaSettings) -> str:
        """A new mfa_token for the second step of this login, audited ``mfa.required`` (the
        caller commits)."""
        mfa_token = self._tickets.issue(
            user_id=user.id, client_id=login.client_id, scope=login.scope,
            audience=login.audience, purpose=needed.kind, ttl=settings.mfa_token_ttl,
            first_amr=login.amr,
        )
        self._audit.record("mfa.required", user_id=user.id, client_id=login.client_id,
                           ip=login.ip, requirement=needed.kind, scope=format_scope(login.scope))
        return mfa_token

    def check_refresh(self, user_id: str, amr: list[str]) -> None:
        """A refresh from a login without MFA fails once the account needs MFA."""
        if MFA_AMR not in amr and self.needs_mfa(user_id, self._settings.load()):
            raise InvalidGrant(
                "This refresh token comes from a login without MFA, which the account now "
                "needs. Log in again."
            )
