"""When a login needs a second factor, and what the client is told (README, API; README, MFA
policies).

The decision itself is :func:`authserver.mfa.decision.decide`, over the deployment's settings,
the application's rule and the user's groups. By default (``inherit``), with MFA on, a user with
an active authenticator of an enabled factor must answer a challenge; under policy ``required``
a user without one must enroll first (NIST SP 800-63B §4.2.1: AAL2 needs two factors). Either
way the password grant answers ``403 mfa_required`` with an mfa_token instead of tokens, and no
other grant may hand out tokens for such a user without the second factor: a refresh token from
a password-only login stops working once the account needs MFA at that application.
"""

from __future__ import annotations

from dataclasses import dataclass

from authserver.audit import AuditLog
from authserver.clients import MFA_OOB, MFA_OTP, MFA_RECOVERY_CODE, MFA_WEBAUTHN
from authserver.errors import AccessDenied, InvalidGrant
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.decision import (
    ADAPTIVE,
    INHERIT,
    LOW,
    MEDIUM,
    MULTI_FACTOR,
    PHISHING_RESISTANT,
    Decision,
    LoginFacts,
    decide,
    satisfied,
)
from authserver.mfa.groups import Groups
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.risk import LoginContext, LoginRisk
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
from authserver.models import Authenticator, Client, User
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
    device_id: str | None = None  # adaptive MFA: known once the second factor is answered


@dataclass(frozen=True)
class Requirement:
    """What the user must do: answer a challenge with one of ``factors``, or enroll one; and
    the rule that asked (authserver.mfa.decision), for the audit trail."""

    kind: str
    factors: tuple[str, ...]
    reason: str = "enrolled"


class MfaPolicy:
    """Decides whether a login needs MFA (authserver.mfa.decision over the login's facts), and
    issues the mfa_token when it does."""

    def __init__(
        self, settings: MfaSettingsStore, authenticators: Authenticators, *,
        recovery: RecoveryCodes, tickets: MfaTickets, groups: Groups, risk: LoginRisk,
        audit: AuditLog,
    ) -> None:
        self._settings = settings
        self._authenticators = authenticators
        self._recovery = recovery
        self._tickets = tickets
        self._groups = groups
        self._risk = risk
        self._audit = audit

    def decision(self, user_id: str, settings: MfaSettings, client: Client | None = None, *,
                 acr_demand: str | None = None, context: LoginContext | None = None,
                 refreshing: bool = False, remembered: bool = False,
                 risk: str | None = None) -> Decision:
        """The decision for a login of this user at this application (None: no application's
        rule, as for a refresh check of the deployment's own). ``acr_values`` are a request,
        not a rule (OIDC Core §5.5.1.1): a user without a passkey asked for phishing-resistant
        MFA answers with another factor, and the ID token's ``acr`` says which was reached.
        An ``adaptive`` application's login is scored from ``context``; without one (a sign-in
        whose signals are not gathered) it counts as medium risk: a second factor; a refresh
        keeps what its login was decided (``refreshing``), as the risk was assessed then. The
        dashboard's tester gives the ``risk`` level of a made-up login."""
        usable = self._usable(user_id, settings)
        if risk is None:
            risk = LOW if refreshing else self._adaptive_risk(user_id, settings, client, context)
        if acr_demand == PHISHING_RESISTANT and not set(usable) & set(WEBAUTHN_FACTORS):
            acr_demand = MULTI_FACTOR
        return decide(LoginFacts(
            mfa_enabled=settings.enabled, deployment_required=settings.policy == REQUIRED,
            enrolled=bool(usable),
            app_policy=client.mfa_policy if client is not None else INHERIT,
            app_factors=tuple(client.mfa_factors) if client is not None else (),
            groups=self._groups.rules_of(user_id), acr_demand=acr_demand, risk=risk,
            block_high_risk=settings.adaptive_block_high, remembered_device=remembered,
        ))

    def _adaptive_risk(self, user_id: str, settings: MfaSettings, client: Client | None,
                       context: LoginContext | None) -> str:
        """The risk level of an adaptive application's login, audited ``mfa.risk`` with the
        signals that fired; LOW elsewhere (the decision does not read it)."""
        if client is None or client.mfa_policy != ADAPTIVE:
            return LOW
        if context is None:
            return MEDIUM
        risk = self._risk.assess(user_id, context, settings)
        self._audit.record("mfa.risk", user_id=user_id, client_id=client.client_id,
                           ip=context.ip, level=risk.level, score=risk.score,
                           signals=list(risk.signals))
        return risk.level

    def remember(self, user_id: str, client: Client, context: LoginContext) -> None:
        """A login of an adaptive application completed: its device and network are known
        from now on (the caller commits)."""
        if client.mfa_policy == ADAPTIVE:
            self._risk.remember(user_id, context, self._settings.load())

    def requirement(self, user_id: str, settings: MfaSettings, client: Client | None = None, *,
                    acr_demand: str | None = None, context: LoginContext | None = None
                    ) -> Requirement | None:
        """None when the first factor is enough.

        A user whose only authenticators belong to a factor the operator switched off is not
        let through on the password: they must enroll a factor that is on. AccessDenied when
        the login's rules allow only factors the user has not enrolled while they have others:
        adding one takes a login with a factor they have (NIST SP 800-63B §6.1.2.1).
        """
        decision = self.decision(user_id, settings, client, acr_demand=acr_demand,
                                 context=context)
        if decision.blocked:
            raise AccessDenied("This sign-in was refused as too risky. Sign in from a device "
                               "and network you used before, or ask an administrator.")
        if not decision.required:
            return None
        allowed = decision.factors
        usable = [f for f in self._usable(user_id, settings) if allowed is None or f in allowed]
        if not usable:
            return self._enrollment(user_id, settings, decision)
        if (settings.factor_enabled(RECOVERY_CODE) and allowed is None
                and self._recovery.remaining(user_id)):
            usable.append(RECOVERY_CODE)
        return Requirement(FOR_CHALLENGE, tuple(dict.fromkeys(usable)), decision.reason)

    def _enrollment(self, user_id: str, settings: MfaSettings,
                    decision: Decision) -> Requirement:
        if self._usable(user_id, settings):
            raise AccessDenied(
                "This login needs one of these factors, which the account does not have: "
                f"{', '.join(sorted(decision.factors or ()))}. Add one in an application "
                "that accepts your current factor."
            )
        factors = tuple(f for f in settings.enrollable_factors
                        if decision.factors is None or f in decision.factors)
        return Requirement(FOR_ENROLLMENT, factors, decision.reason)

    def _usable(self, user_id: str, settings: MfaSettings) -> list[str]:
        """The factors of the user's active authenticators that are switched on."""
        return [factor_of(a) for a in self._authenticators.of_user(user_id, active=True)
                if settings.factor_enabled(factor_of(a))]

    def start(self, user: User, login: PendingLogin, needed: Requirement,
              settings: MfaSettings) -> str:
        """A new mfa_token for the second step of this login, audited ``mfa.required`` with
        the rule that asked (the caller commits)."""
        mfa_token = self._tickets.issue(
            user_id=user.id, client_id=login.client_id, scope=login.scope,
            audience=login.audience, purpose=needed.kind, ttl=settings.mfa_token_ttl,
            first_amr=login.amr, factors=needed.factors, device_id=login.device_id,
        )
        self._audit.record("mfa.required", user_id=user.id, client_id=login.client_id,
                           ip=login.ip, requirement=needed.kind, scope=format_scope(login.scope),
                           reason=needed.reason)
        return mfa_token

    def check_refresh(self, user_id: str, amr: list[str], client: Client) -> None:
        """A refresh from a login without the second factor it now needs (the deployment's,
        the application's or a group's rule) fails: the user logs in again."""
        decision = self.decision(user_id, self._settings.load(), client, refreshing=True)
        if not satisfied(decision, amr):
            raise InvalidGrant(
                "This refresh token comes from a login without MFA (or with a factor this "
                "application no longer accepts), which the account now needs. Log in again."
            )
