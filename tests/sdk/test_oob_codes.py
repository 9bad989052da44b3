"""Where the SDK keeps an SMS challenge's oob_code between ``challenge`` and ``verify``."""

from __future__ import annotations

import time

from protekt import MemoryOobCodes


def test_a_code_is_recalled_for_its_own_mfa_token_only() -> None:
    codes = MemoryOobCodes()
    codes.remember("token-a", "oob-a")
    assert codes.recall("token-a") == "oob-a"
    assert codes.recall("token-b") is None
    codes.remember("token-a", "oob-a2")  # a resend replaces it
    assert codes.recall("token-a") == "oob-a2"
    codes.forget("token-a")
    assert codes.recall("token-a") is None


def test_codes_lapse_and_the_oldest_make_room() -> None:
    codes = MemoryOobCodes(ttl=0.05, size=2)
    codes.remember("t1", "o1")
    time.sleep(0.06)
    assert codes.recall("t1") is None
    for index in range(3):
        codes.remember(f"u{index}", f"o{index}")
    assert [codes.recall(f"u{index}") for index in range(3)] == [None, "o1", "o2"]
