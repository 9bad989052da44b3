"""What an authorization request needs next: a pure function over the sign-in's facts, so that
every combination is easy to test (OIDC Core §3.1.2.1 ``prompt``, ``max_age``, ``acr_values``).

In order: the user must sign in when nobody is, when the app says ``prompt=login`` or when the
sign-in is older than ``max_age`` (unless it just happened in this interaction); then a second
factor when the rules ask one (the deployment's, the application's and the user's groups', and
the app's ``acr_values``: authserver.mfa.decision) and the sign-in has none they accept; then
consent when the app is third-party and the user has not allowed every scope yet, when the
``phone`` scope is asked without the user's agreement, or on ``prompt=consent``. With
``prompt=none`` a step that needs the user is an error sent back to the app instead:
``login_required``, ``interaction_required`` or ``consent_required``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Step(Enum):
    LOGIN = "login_required"
    MFA = "interaction_required"
    CONSENT = "consent_required"
    ISSUE = "issue"


@dataclass(frozen=True)
class Facts:
    """What is known when the decision is made."""

    signed_in: bool  # a user is authenticated (session, or this interaction)
    fresh: bool  # ...in this very interaction
    auth_age: float  # seconds since that authentication
    has_mfa: bool  # the sign-in's amr holds "mfa"
    mfa_needed: bool  # the rules ask a second factor (authserver.mfa.decision, acr_values too)
    consent_missing: bool  # scopes the user has not allowed this client
    consented: bool  # consent given in this interaction
    prompt: frozenset[str]
    max_age: int | None


def next_step(facts: Facts) -> Step:
    """The next step; the caller turns a non-ISSUE step into an error under prompt=none."""
    too_old = facts.max_age is not None and facts.auth_age > facts.max_age
    if not facts.signed_in or (("login" in facts.prompt or too_old) and not facts.fresh):
        return Step.LOGIN
    if facts.mfa_needed and not facts.has_mfa:
        return Step.MFA
    if (facts.consent_missing or "consent" in facts.prompt) and not facts.consented:
        return Step.CONSENT
    return Step.ISSUE
