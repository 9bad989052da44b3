"""What an authorization request needs next (authserver.hosted.decisions), case by case."""

from __future__ import annotations

from dataclasses import replace

import pytest

from authserver.hosted.decisions import Facts, Step, next_step

SIGNED_IN = Facts(signed_in=True, fresh=False, auth_age=60.0, has_mfa=False, mfa_needed=False,
                  consent_missing=False, consented=False,
                  prompt=frozenset(), max_age=None)


@pytest.mark.parametrize(("changes", "step"), [
    ({}, Step.ISSUE),
    ({"signed_in": False}, Step.LOGIN),
    ({"prompt": frozenset({"login"})}, Step.LOGIN),
    ({"prompt": frozenset({"login"}), "fresh": True}, Step.ISSUE),  # just typed it
    ({"max_age": 0}, Step.LOGIN),
    ({"max_age": 0, "fresh": True, "auth_age": 1.0}, Step.ISSUE),
    ({"max_age": 60}, Step.ISSUE),  # exactly that old: still within
    ({"max_age": 59}, Step.LOGIN),
    ({"mfa_needed": True}, Step.MFA),
    ({"mfa_needed": True, "has_mfa": True, "consent_missing": True}, Step.CONSENT),
    ({"consent_missing": True, "consented": True}, Step.ISSUE),
    ({"prompt": frozenset({"consent"})}, Step.CONSENT),
    ({"prompt": frozenset({"consent"}), "consented": True}, Step.ISSUE),
    ({"signed_in": False, "mfa_needed": True, "consent_missing": True}, Step.LOGIN),
    ({"mfa_needed": True, "consent_missing": True}, Step.MFA),  # factors before consent
])
def test_the_next_step(changes: dict[str, object], step: Step) -> None:
    assert next_step(replace(SIGNED_IN, **changes)) is step  # type: ignore[arg-type]


def test_each_step_names_the_error_prompt_none_answers() -> None:
    assert (Step.LOGIN.value, Step.MFA.value, Step.CONSENT.value) == (
        "login_required", "interaction_required", "consent_required")
