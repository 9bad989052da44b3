"""Recovery codes: format, entropy, forgiving input, single use under parallel redemption."""

from __future__ import annotations

import math
from typing import Any

from flask import Flask

from authserver.extensions import db, services
from authserver.mfa import recovery
from tests.support import run_parallel


def test_a_code_is_four_groups_of_four_with_80_bits() -> None:
    code = recovery.new_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert 16 * math.log2(len(recovery._ALPHABET)) == 80  # the API reference asks 64 at least


def test_input_is_forgiving_about_case_spaces_hyphens_and_lookalikes() -> None:
    assert recovery.normalize("7k2m qx9d-oil0 ABCD") == "7K2MQX9D0110ABCD"
    for bad in ("", "7K2M-QX9D", "7K2M-QX9D-0110-ABCDE", "7K2M-QX9D-0110-ABC!", "ÄÄÄÄ" * 4):
        assert recovery.normalize(bad) is None


def test_thirty_parallel_redemptions_of_one_code_succeed_once(app: Flask, user: Any) -> None:
    with app.app_context():
        codes = services.mfa.recovery_codes.replace_set(user.id)
        db.session.commit()

    def redeem() -> bool:
        with app.app_context():
            redeemed = services.mfa.recovery_codes.redeem(user.id, codes[0])
            db.session.commit()  # the caller's commit, as the verifier does after the exchange
            return redeemed

    assert run_parallel(30, redeem).count(True) == 1
    with app.app_context():
        assert services.mfa.recovery_codes.remaining(user.id) == 9


def test_parallel_replacements_leave_exactly_one_set(app: Flask, user: Any) -> None:
    def replace() -> list[str]:
        with app.app_context():
            codes = services.mfa.recovery_codes.replace_set(user.id)
            db.session.commit()
            return codes

    sets = run_parallel(8, replace)
    with app.app_context():
        assert services.mfa.recovery_codes.remaining(user.id) == 10
        working = [s for s in sets if services.mfa.recovery_codes.redeem(user.id, s[0])]
        db.session.rollback()
    assert len(working) == 1


def test_a_code_belongs_to_its_user_only(app: Flask, user: Any, make_user: Any) -> None:
    bob = make_user(email="bob@example.org")
    with app.app_context():
        codes = services.mfa.recovery_codes.replace_set(user.id)
        db.session.commit()
        assert not services.mfa.recovery_codes.redeem(bob.id, codes[0])
        assert services.mfa.recovery_codes.redeem(user.id, codes[0])
        assert services.mfa.recovery_codes.remaining(bob.id) is None
        assert services.mfa.recovery_codes.remaining(user.id) == 9
