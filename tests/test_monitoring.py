"""MFA monitoring on SQLite and PostgreSQL: the audit trail counted by UTC day and factor in SQL,
zeros filled in, SMS credits net of refunds, all-time totals, and the bounds of ``days``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from authserver.clients import DASHBOARD_CLIENT_ID
from authserver.extensions import db, services
from authserver.monitoring import FACTORS, FactorDay, MfaMonitoring, SmsDay, Totals

TODAY = date(2025, 3, 10)
Record = Callable[..., None]


def day(back: int) -> date:
    return TODAY - timedelta(days=back)


def at(back: int, clock: time = time(12)) -> datetime:
    """An aware UTC datetime ``back`` days before TODAY, at ``clock``."""
    return datetime.combine(day(back), clock, UTC)


@pytest.fixture
def monitoring(app: Flask) -> Iterator[MfaMonitoring]:
    with app.app_context():
        yield MfaMonitoring(db.session)


@pytest.fixture
def record(monitoring: MfaMonitoring) -> Record:
    """Write events through the real audit log at given times, committed."""
    def write(event_type: str, when: datetime, times: int = 1, **detail: Any) -> None:
        for _ in range(times):
            services.audit.record(event_type, user_id="u1", client_id="c1", ip="192.0.2.1",
                                  created_at=when, **detail)
        db.session.commit()

    return write


def zeros(back: int, factor: str) -> FactorDay:
    return FactorDay(day(back), factor, 0, 0, 0, 0)


NONE = dict.fromkeys(FACTORS, 0)


def test_daily_counts_each_factor_per_utc_day_with_zeros(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("mfa.challenge", at(2), times=3, factor="otp")
    record("mfa.verify.success", at(2), times=2, factor="otp")
    record("mfa.verify.failure", at(2), factor="otp")
    record("mfa.challenge", at(2), factor="sms")
    record("mfa.verify.failure", at(2), factor="sms", reason="expired")
    record("mfa.recovery_code.used", at(0), factor="recovery-code")
    record("mfa.verify.failure", at(0), times=2, factor="recovery-code")
    record("mfa.locked", at(0), factor="recovery-code", limits=["mfa-user"])
    record("mfa.challenge", at(1), factor="webauthn")
    record("mfa.verify.success", at(1), factor="webauthn")
    record("passkey.signin.success", at(0), times=3, factor="passkey")
    record("passkey.signin.failure", at(0), factor="passkey", reason="invalid_assertion")
    assert monitoring.daily(3, today=TODAY) == [
        FactorDay(day(2), "otp", challenges=3, successes=2, failures=1, lockouts=0),
        FactorDay(day(2), "sms", challenges=1, successes=0, failures=1, lockouts=0),
        zeros(2, "webauthn"), zeros(2, "recovery-code"), zeros(2, "passkey"),
        zeros(1, "otp"), zeros(1, "sms"),
        FactorDay(day(1), "webauthn", challenges=1, successes=1, failures=0, lockouts=0),
        zeros(1, "recovery-code"), zeros(1, "passkey"),
        zeros(0, "otp"), zeros(0, "sms"), zeros(0, "webauthn"),
        FactorDay(day(0), "recovery-code", challenges=0, successes=1, failures=2, lockouts=1),
        FactorDay(day(0), "passkey", challenges=0, successes=3, failures=1, lockouts=0),
    ]


def local(back: int, hour: int, utc_offset: int) -> datetime:
    """``hour`` o'clock ``back`` days before TODAY in a zone ``utc_offset`` hours from UTC."""
    return datetime.combine(day(back), time(hour), timezone(timedelta(hours=utc_offset)))


@pytest.mark.parametrize(("when", "back"), [
    (at(1, time(0)), 1),  # the first instant of a day
    (at(1, time(23, 59, 59, 999_999)), 1),  # the last one
    (at(0, time(0)), 0),
    (local(0, 1, utc_offset=2), 1),  # 23:00 UTC the day before
    (local(1, 22, utc_offset=-3), 0),  # 01:00 UTC the day after
])
def test_an_event_falls_on_its_utc_day(
    monitoring: MfaMonitoring, record: Record, when: datetime, back: int,
) -> None:
    record("mfa.challenge", when, factor="otp")
    challenged = [(d.day, d.factor) for d in monitoring.daily(2, today=TODAY) if d.challenges]
    assert challenged == [(day(back), "otp")]


def test_events_outside_the_window_are_left_out(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("mfa.challenge", at(2, time(23, 59, 59, 999_999)), factor="otp")  # before the first day
    record("mfa.challenge", at(-1, time(0)), factor="otp")  # after today
    assert all(d.challenges == 0 for d in monitoring.daily(2, today=TODAY))
    assert monitoring.totals().challenges["otp"] == 2


def test_other_events_and_unknown_factors_are_not_counted(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("mfa.confirm.failure", at(0), factor="otp")  # enrolling, not logging in
    record("mfa.confirmed", at(0), factor="otp")
    record("mfa.enrolled", at(0), factor="sms")
    record("login.failure", at(0))
    record("mfa.verify.success", at(0), factor="fingerprint")
    record("mfa.verify.failure", at(0))  # no factor at all
    assert monitoring.daily(1, today=TODAY) == [zeros(0, factor) for factor in FACTORS]
    assert set(monitoring.totals().successes) == set(FACTORS)


def test_the_dashboards_own_sign_ins_are_not_counted(monitoring: MfaMonitoring,
                                                     record: Record) -> None:
    """The figures are about the deployment's users, not its administrators' console."""
    for outcome in ("mfa.verify.success", "mfa.verify.failure", "mfa.locked"):
        services.audit.record(outcome, user_id="admin", client_id=DASHBOARD_CLIENT_ID,
                              created_at=at(0), factor="otp")
    record("mfa.verify.success", at(0), factor="otp")  # an app's login: counted
    db.session.commit()
    [otp] = [row for row in monitoring.daily(1, today=TODAY) if row.factor == "otp"]
    assert (otp.successes, otp.failures, otp.lockouts) == (1, 0, 0)
    assert monitoring.totals().successes["otp"] == 1


@pytest.mark.parametrize(("successes", "failures", "rate"), [
    (0, 0, None), (3, 0, 1.0), (0, 2, 0.0), (1, 3, 0.25),
])
def test_success_rate(successes: int, failures: int, rate: float | None) -> None:
    assert FactorDay(TODAY, "otp", 5, successes, failures, 1).success_rate == rate


def test_success_rate_of_a_day_with_only_challenges_is_none(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("mfa.challenge", at(0), factor="sms")
    sms = next(d for d in monitoring.daily(1, today=TODAY) if d.factor == "sms")
    assert (sms.challenges, sms.success_rate) == (1, None)


def test_sms_daily_counts_messages_and_credits_net_of_refunds(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("sms.credits.topped_up", at(2), amount=1000, balance=1000)  # bought, not used
    record("sms.credits.debited", at(2), amount=2, balance=998)
    record("sms.sent", at(2), segments=2, provider="file")
    record("sms.credits.debited", at(2), amount=1, balance=997)
    record("sms.failed", at(2), outcome="refused")
    record("sms.credits.refunded", at(2), amount=1, balance=998)
    record("sms.credits.debited", at(0), times=3, amount=3, balance=989)
    record("sms.sent", at(0), times=2, segments=3)
    record("sms.failed", at(0), outcome="unknown")  # the provider may have billed it: no refund
    record("sms.limited", at(0), limits=["sms-user"])
    assert monitoring.sms_daily(3, today=TODAY) == [
        SmsDay(day(2), sent=1, failed=1, credits_used=2),
        SmsDay(day(1), sent=0, failed=0, credits_used=0),
        SmsDay(day(0), sent=2, failed=1, credits_used=9),
    ]


def test_a_refund_on_the_day_after_its_debit_counts_on_its_own_day(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("sms.credits.debited", at(1, time(23, 59, 59)), amount=2, balance=8)
    record("sms.credits.refunded", at(0, time(0, 0, 1)), amount=2, balance=10)
    assert [d.credits_used for d in monitoring.sms_daily(2, today=TODAY)] == [2, -2]


def test_totals_count_everything_ever_recorded(monitoring: MfaMonitoring, record: Record) -> None:
    record("mfa.challenge", at(400), factor="otp")
    record("mfa.challenge", at(0), times=2, factor="sms")
    record("mfa.verify.success", at(100), factor="otp")
    record("mfa.verify.success", at(0), times=2, factor="sms")
    record("mfa.recovery_code.used", at(30), factor="recovery-code")
    record("mfa.verify.failure", at(200), times=4, factor="otp")
    record("mfa.locked", at(200), factor="otp", limits=["mfa-user"])
    record("mfa.verify.failure", at(3), factor="webauthn", reason="cloned_authenticator")
    record("passkey.signin.success", at(2), factor="passkey")
    record("sms.sent", at(0), times=2, segments=1)
    record("sms.failed", at(0), outcome="refused")
    record("sms.credits.debited", at(0), times=3, amount=1, balance=7)
    record("sms.credits.refunded", at(0), amount=1, balance=8)
    assert monitoring.totals() == Totals(
        challenges={**NONE, "otp": 1, "sms": 2},
        successes={**NONE, "otp": 1, "sms": 2, "recovery-code": 1, "passkey": 1},
        failures={**NONE, "otp": 4, "webauthn": 1},
        lockouts={**NONE, "otp": 1},
        sms_sent=2, sms_failed=1, sms_credits_used=2,
    )


def test_an_empty_trail_gives_zeros(monitoring: MfaMonitoring) -> None:
    empty = {factor: 0 for factor in FACTORS}
    assert monitoring.totals() == Totals(empty, empty, empty, empty, 0, 0, 0)
    assert monitoring.sms_daily(1, today=TODAY) == [SmsDay(TODAY, 0, 0, 0)]


@pytest.mark.parametrize("days", [1, 90])
def test_days_bounds_are_accepted(monitoring: MfaMonitoring, days: int) -> None:
    series = monitoring.daily(days, today=TODAY)
    assert len(series) == days * len(FACTORS)
    assert (series[0].day, series[-1].day) == (day(days - 1), TODAY)
    assert [d.day for d in monitoring.sms_daily(days, today=TODAY)] == [
        day(back) for back in reversed(range(days))]


@pytest.mark.parametrize("days", [0, -1, 91, 365, True, 1.5, "7"])
def test_days_out_of_bounds_are_refused(monitoring: MfaMonitoring, days: Any) -> None:
    with pytest.raises(ValueError, match="from 1 to 90"):
        monitoring.daily(days)
    with pytest.raises(ValueError, match="from 1 to 90"):
        monitoring.sms_daily(days)


def test_today_must_be_a_day_not_an_instant(monitoring: MfaMonitoring) -> None:
    with pytest.raises(ValueError, match="not a datetime"):
        monitoring.daily(7, today=at(0))


def test_today_defaults_to_the_current_utc_day(monitoring: MfaMonitoring) -> None:
    before = datetime.now(UTC).date()
    last = monitoring.daily(1)[-1].day
    assert before <= last <= datetime.now(UTC).date()


def test_the_database_does_the_counting(monitoring: MfaMonitoring, record: Record) -> None:
    """Each series is one GROUP BY query (totals: one for MFA, one for SMS), not rows loaded."""
    record("mfa.verify.failure", at(0), times=5, factor="otp")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        today = monitoring.daily(7, today=TODAY)[-len(FACTORS):]
        assert [d.failures for d in today if d.factor == "otp"] == [5]
        monitoring.sms_daily(7, today=TODAY)
        monitoring.totals()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 4
    assert all("GROUP BY" in s and "count(*)" in s for s in statements), statements


def test_prompts_count_each_applications_sign_ins_and_the_rules_that_asked(
    monitoring: MfaMonitoring, record: Record,
) -> None:
    record("login.success", at(0), times=4)
    record("passkey.signin.success", at(1))
    record("mfa.required", at(0), times=2, reason="enrolled")
    record("mfa.required", at(1), reason="group:admins")
    record("mfa.required", at(30), reason="app_always")  # outside the window
    [app] = monitoring.prompts(7, today=TODAY)
    assert (app.client_id, app.logins, app.prompts) == ("c1", 5, 3)
    assert app.reasons == {"enrolled": 2, "group:admins": 1}
    assert app.prompt_rate == pytest.approx(0.6)
