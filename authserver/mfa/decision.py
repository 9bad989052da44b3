"""Whether a login needs a second factor, which factors may answer, and why: one pure function
over the login's facts, no I/O (README, MFA policies).

The rules, strictest first; a rule can raise the requirement, never lower one above it:

1. MFA switched off for the deployment: no second factor, whatever else says (nobody could
   enroll one).
2. A group of the user that says ``always``; the app's ``acr_values`` asking for multi-factor
   or phishing-resistant authentication (OIDC Core §3.1.2.1); the application's ``always``:
   a second factor, on any device.
3. The application's ``never``: none (rule 2 still applies: a group or ``acr_values`` wins).
4. The application's ``adaptive``: by the login's risk: ``low`` none, ``medium`` one,
   ``high`` one from the phishing-resistant factors (or a refusal, as the settings say).
5. ``inherit`` (the default): the deployment's policy: ``required`` asks everyone,
   ``optional`` asks users who enrolled a factor.

A remembered device (the user passed a second factor on it and asked to be remembered) skips the
prompt of rules 4 and 5 only. The factors that may answer are the intersection of the
application's list, each group's list and, for a phishing-resistant demand, the passkey factors
(NIST SP 800-63B §5.2.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from authserver.mfa.settings import WEBAUTHN_FACTORS

# Application rules (README, MFA policies)
INHERIT, ALWAYS, NEVER, ADAPTIVE = "inherit", "always", "never", "adaptive"
APP_POLICIES = (INHERIT, ALWAYS, NEVER, ADAPTIVE)

# Risk levels of an adaptive login
LOW, MEDIUM, HIGH = "low", "medium", "high"
# acr_values demands (authserver.tokens.claims)
MULTI_FACTOR, PHISHING_RESISTANT = "multi-factor", "phishing-resistant"
# A group's or an application's factor list may name this for "any passkey factor".
PHISHING_RESISTANT_FACTORS = "phishing-resistant"


@dataclass(frozen=True)
class GroupRule:
    """What one of the user's groups asks: always a second factor, and from which factors
    (empty: any)."""

    name: str
    always: bool = False
    factors: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoginFacts:
    """Everything the decision reads; gathered by the caller (authserver.mfa.policy)."""

    mfa_enabled: bool = True
    deployment_required: bool = False  # the deployment's policy is ``required``
    enrolled: bool = False  # the user has an active factor of a switched-on kind
    app_policy: str = INHERIT
    app_factors: tuple[str, ...] = ()
    groups: tuple[GroupRule, ...] = ()
    acr_demand: str | None = None  # MULTI_FACTOR or PHISHING_RESISTANT
    risk: str = LOW
    block_high_risk: bool = False  # adaptive, high risk: refuse instead of a passkey
    remembered_device: bool = False


@dataclass(frozen=True)
class Decision:
    """The outcome: a second factor or not, the factors that may answer (None: any), a refusal
    (high risk under ``block_high_risk``), and the rule that decided, for the audit trail."""

    required: bool
    reason: str
    factors: frozenset[str] | None = None
    blocked: bool = False


def decide(facts: LoginFacts) -> Decision:
    """The decision for one login (see the module's rules)."""
    if not facts.mfa_enabled:
        return Decision(False, "mfa_off")
    factors = _allowed(facts)
    forced = _forced(facts)
    if forced is not None:
        return Decision(True, forced, factors)
    if facts.app_policy == NEVER:
        return Decision(False, "app_never")
    if facts.app_policy == ADAPTIVE:
        return _adaptive(facts, factors)
    return _inherited(facts, factors)


def _inherited(facts: LoginFacts, factors: frozenset[str] | None) -> Decision:
    """The deployment's policy: ``required`` asks everyone, ``optional`` the enrolled."""
    if not (facts.deployment_required or facts.enrolled):
        return Decision(False, "not_enrolled")
    if facts.remembered_device:
        return Decision(False, "remembered_device")
    return Decision(True, "deployment_required" if facts.deployment_required else "enrolled",
                    factors)


def _forced(facts: LoginFacts) -> str | None:
    """The rule that asks a second factor whatever the application's policy, if any."""
    for group in facts.groups:
        if group.always:
            return f"group:{group.name}"
    if facts.acr_demand is not None:
        return f"acr_values:{facts.acr_demand}"
    return "app_always" if facts.app_policy == ALWAYS else None


def _adaptive(facts: LoginFacts, factors: frozenset[str] | None) -> Decision:
    if facts.risk == HIGH:
        if facts.block_high_risk:
            return Decision(True, "risk_high", factors, blocked=True)
        return Decision(True, "risk_high", _narrowed(factors, frozenset(WEBAUTHN_FACTORS)))
    if facts.risk == MEDIUM and not facts.remembered_device:
        return Decision(True, "risk_medium", factors)
    return Decision(False, "remembered_device" if facts.risk == MEDIUM else "risk_low")


def _allowed(facts: LoginFacts) -> frozenset[str] | None:
    """The intersection of every factor list that applies; None when none does."""
    allowed: frozenset[str] | None = None
    lists = [facts.app_factors, *(group.factors for group in facts.groups)]
    if facts.acr_demand == PHISHING_RESISTANT:
        lists.append(WEBAUTHN_FACTORS)
    for named in lists:
        if named:
            allowed = _narrowed(allowed, expand(named))
    return allowed


# The amr values (RFC 8176) a factor leaves in a login: what shows a login already answered it.
AMR_OF_FACTOR = {"otp": ("otp",), "sms": ("sms",), "webauthn-platform": ("hwk", "swk"),
                 "webauthn-roaming": ("hwk", "swk")}


def satisfied(decision: Decision, amr: tuple[str, ...] | list[str]) -> bool:
    """A login with this ``amr`` already meets the decision: none asked, or ``mfa`` with one of
    the allowed factors' values (a session's earlier MFA serves only if its factor is allowed)."""
    if not decision.required:
        return True
    if "mfa" not in amr:
        return False
    return decision.factors is None or any(
        value in amr for factor in decision.factors for value in AMR_OF_FACTOR.get(factor, ()))


def expand(factors: tuple[str, ...]) -> frozenset[str]:
    """A factor list with ``phishing-resistant`` read as the passkey factors."""
    names = set(factors)
    if PHISHING_RESISTANT_FACTORS in names:
        names.discard(PHISHING_RESISTANT_FACTORS)
        names.update(WEBAUTHN_FACTORS)
    return frozenset(names)


def _narrowed(allowed: frozenset[str] | None, more: frozenset[str]) -> frozenset[str]:
    return more if allowed is None else allowed & more
