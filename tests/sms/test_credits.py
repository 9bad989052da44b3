"""SMS credits on SQLite and PostgreSQL: top-ups, debits, the low-balance event, refunds, and
parallel debits that never take the balance below zero."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from authserver.errors import InvalidRequest
from authserver.extensions import db, services
from authserver.models import AuditEvent
from authserver.sms.credits import MAX_TOP_UP, CreditsExhausted
from tests.support import run_parallel


def events(event_type: str) -> list[dict[str, Any]]:
    """The details of this type's audit events, oldest first."""
    return list(db.session.scalars(db.select(AuditEvent.detail)
                                   .where(AuditEvent.type == event_type)
                                   .order_by(AuditEvent.id)))


def test_the_balance_starts_at_zero(app: Flask) -> None:
    with app.app_context():
        assert services.mfa.sms_credits.balance() == 0


def test_top_up_returns_the_new_balance_and_is_audited(app: Flask) -> None:
    with app.app_context():
        assert services.flows.security_settings.top_up(50) == 50
        assert services.flows.security_settings.top_up(MAX_TOP_UP) == 50 + MAX_TOP_UP
    with app.app_context():  # committed: a new request reads it back
        assert services.mfa.sms_credits.balance() == 50 + MAX_TOP_UP
        assert events("sms.credits.topped_up") == [
            {"amount": 50, "balance": 50},
            {"amount": MAX_TOP_UP, "balance": 50 + MAX_TOP_UP},
        ]


@pytest.mark.parametrize("amount", [0, -1, True, MAX_TOP_UP + 1, 1.5, "5"])
def test_bad_top_ups_are_refused(app: Flask, amount: Any) -> None:
    with app.app_context():
        services.flows.security_settings.top_up(10)
        with pytest.raises(InvalidRequest, match="whole number from 1 to"):
            services.flows.security_settings.top_up(amount)
        assert services.mfa.sms_credits.balance() == 10
        assert len(events("sms.credits.topped_up")) == 1


def test_debit_takes_the_amount_and_is_audited(app: Flask) -> None:
    with app.app_context():
        services.flows.security_settings.top_up(10)
        assert services.mfa.sms_credits.debit(3, low_threshold=0, user_id="u1") == 7
    with app.app_context():
        assert services.mfa.sms_credits.balance() == 7
        assert events("sms.credits.debited") == [{"amount": 3, "balance": 7}]
        user_ids = db.session.scalars(db.select(AuditEvent.user_id)
                                      .where(AuditEvent.type == "sms.credits.debited")).all()
        assert user_ids == ["u1"]


@pytest.mark.parametrize(("balance", "amount"), [(0, 1), (2, 3)])
def test_a_short_balance_raises_and_is_left_unchanged(app: Flask, balance: int,
                                                      amount: int) -> None:
    with app.app_context():
        if balance:
            services.flows.security_settings.top_up(balance)
        with pytest.raises(CreditsExhausted):
            services.mfa.sms_credits.debit(amount, low_threshold=0)
    with app.app_context():
        assert services.mfa.sms_credits.balance() == balance
        assert events("sms.credits.debited") == []


def test_crossing_the_low_threshold_is_recorded_once(app: Flask) -> None:
    with app.app_context():
        credits = services.mfa.sms_credits
        credits.top_up(10)
        left = [credits.debit(amount, low_threshold=5) for amount in (2, 2, 2, 1, 1)]
        assert left == [8, 6, 4, 3, 2]  # the third debit crosses 5
        assert events("sms.credits.low") == [{"balance": 4, "threshold": 5}]


def test_landing_exactly_on_the_threshold_counts_as_crossing_it(app: Flask) -> None:
    with app.app_context():
        credits = services.mfa.sms_credits
        credits.top_up(7)
        assert [credits.debit(1, low_threshold=5) for _ in range(3)] == [6, 5, 4]
        assert events("sms.credits.low") == [{"balance": 5, "threshold": 5}]


def test_refund_restores_the_balance_and_is_audited(app: Flask) -> None:
    with app.app_context():
        credits = services.mfa.sms_credits
        credits.top_up(5)
        credits.debit(2, low_threshold=0)
        assert credits.refund(2, reason="provider refused") == 5
    with app.app_context():
        assert services.mfa.sms_credits.balance() == 5
        assert events("sms.credits.refunded") == [
            {"amount": 2, "balance": 5, "reason": "provider refused"}]


def test_parallel_debits_never_overdraw(app: Flask) -> None:
    with app.app_context():
        services.flows.security_settings.top_up(5)

    def debit() -> bool:
        with app.app_context():
            try:
                services.mfa.sms_credits.debit(1, low_threshold=0)
            except CreditsExhausted:
                return False
            return True

    results = run_parallel(20, debit)
    with app.app_context():
        assert (results.count(True), services.mfa.sms_credits.balance()) == (5, 0)
        assert len(events("sms.credits.debited")) == 5


def test_parallel_first_top_ups_create_one_balance(app: Flask) -> None:
    def top_up() -> int:
        with app.app_context():
            return services.flows.security_settings.top_up(1)

    results = run_parallel(10, top_up)
    assert sorted(results) == list(range(1, 11))
    with app.app_context():
        assert services.mfa.sms_credits.balance() == 10
