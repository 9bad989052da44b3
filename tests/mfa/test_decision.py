"""The MFA decision (authserver.mfa.decision) as a table: every combination of the
application's rule, a group's rule, the risk level, a remembered device and ``acr_values``,
each with the decision and the reason it must give."""

from __future__ import annotations

import itertools

import pytest

from authserver.mfa.decision import (
    ADAPTIVE,
    ALWAYS,
    HIGH,
    INHERIT,
    LOW,
    MEDIUM,
    MULTI_FACTOR,
    NEVER,
    PHISHING_RESISTANT,
    Decision,
    GroupRule,
    LoginFacts,
    decide,
)

PASSKEYS = frozenset({"webauthn-platform", "webauthn-roaming"})
NO_GROUP = None
ADMINS_ALWAYS = GroupRule("admins", always=True)
ADMINS_PASSKEYS = GroupRule("admins", factors=("phishing-resistant",))

# The application's rule alone, for an enrolled user under the deployment's optional policy:
# (app, risk, remembered) -> (required, reason). The rows are the rules in words: inherit asks
# an enrolled user unless the device is remembered; always asks; never does not; adaptive asks
# at medium risk unless remembered, always at high, never at low.
BY_APP = {
    (INHERIT, LOW, False): (True, "enrolled"),
    (INHERIT, LOW, True): (False, "remembered_device"),
    (INHERIT, MEDIUM, False): (True, "enrolled"),
    (INHERIT, MEDIUM, True): (False, "remembered_device"),
    (INHERIT, HIGH, False): (True, "enrolled"),
    (INHERIT, HIGH, True): (False, "remembered_device"),
    (ALWAYS, LOW, False): (True, "app_always"),
    (ALWAYS, LOW, True): (True, "app_always"),
    (ALWAYS, MEDIUM, False): (True, "app_always"),
    (ALWAYS, MEDIUM, True): (True, "app_always"),
    (ALWAYS, HIGH, False): (True, "app_always"),
    (ALWAYS, HIGH, True): (True, "app_always"),
    (NEVER, LOW, False): (False, "app_never"),
    (NEVER, LOW, True): (False, "app_never"),
    (NEVER, MEDIUM, False): (False, "app_never"),
    (NEVER, MEDIUM, True): (False, "app_never"),
    (NEVER, HIGH, False): (False, "app_never"),
    (NEVER, HIGH, True): (False, "app_never"),
    (ADAPTIVE, LOW, False): (False, "risk_low"),
    (ADAPTIVE, LOW, True): (False, "risk_low"),
    (ADAPTIVE, MEDIUM, False): (True, "risk_medium"),
    (ADAPTIVE, MEDIUM, True): (False, "remembered_device"),
    (ADAPTIVE, HIGH, False): (True, "risk_high"),
    (ADAPTIVE, HIGH, True): (True, "risk_high"),  # a remembered device never lowers high risk
}
GROUPS = [NO_GROUP, ADMINS_ALWAYS, ADMINS_PASSKEYS]
ACRS = [None, MULTI_FACTOR, PHISHING_RESISTANT]


def expected(app: str, group: GroupRule | None, risk: str, remembered: bool,
             acr: str | None) -> Decision:
    """The table's row: a group's ``always`` wins, then ``acr_values``, then the application;
    when a factor is asked, the group's and the acr's lists (and high adaptive risk) narrow it
    to the passkeys."""
    required, reason = BY_APP[app, risk, remembered]
    if group is ADMINS_ALWAYS:
        required, reason = True, "group:admins"
    elif acr is not None:
        required, reason = True, f"acr_values:{acr}"
    narrowed = group is ADMINS_PASSKEYS or acr == PHISHING_RESISTANT or (
        (required, reason) == (True, "risk_high"))
    return Decision(required, reason, PASSKEYS if narrowed and required else None)


COMBINATIONS = list(itertools.product(
    [INHERIT, ALWAYS, NEVER, ADAPTIVE], GROUPS, [LOW, MEDIUM, HIGH], [False, True], ACRS))


@pytest.mark.parametrize(("app", "group", "risk", "remembered", "acr"), COMBINATIONS)
def test_every_combination_gives_its_decision_and_reason(
        app: str, group: GroupRule | None, risk: str, remembered: bool, acr: str | None) -> None:
    facts = LoginFacts(enrolled=True, app_policy=app, groups=() if group is None else (group,),
                       risk=risk, remembered_device=remembered, acr_demand=acr)
    assert decide(facts) == expected(app, group, risk, remembered, acr)


def test_there_are_216_combinations() -> None:
    assert len(COMBINATIONS) == 4 * 3 * 3 * 2 * 3


@pytest.mark.parametrize(("facts", "decision"), [
    (LoginFacts(mfa_enabled=False, groups=(ADMINS_ALWAYS,), acr_demand=MULTI_FACTOR),
     Decision(False, "mfa_off")),
    (LoginFacts(enrolled=False), Decision(False, "not_enrolled")),
    (LoginFacts(enrolled=False, deployment_required=True),
     Decision(True, "deployment_required")),
    (LoginFacts(enrolled=False, app_policy=ALWAYS), Decision(True, "app_always")),
    (LoginFacts(app_policy=ADAPTIVE, risk=HIGH, block_high_risk=True),
     Decision(True, "risk_high", None, blocked=True)),
    (LoginFacts(enrolled=True, app_factors=("otp", "webauthn-roaming"),
                groups=(GroupRule("ops", factors=("webauthn-roaming", "sms")),)),
     Decision(True, "enrolled", frozenset({"webauthn-roaming"}))),
    (LoginFacts(enrolled=True, app_factors=("otp",), acr_demand=PHISHING_RESISTANT),
     Decision(True, "acr_values:phishing-resistant", frozenset())),
])
def test_the_other_rules(facts: LoginFacts, decision: Decision) -> None:
    """MFA off wins over everything; the deployment's policy; the intersection of factor
    lists, which may be empty (no factor can satisfy the login: it is refused)."""
    assert decide(facts) == decision
