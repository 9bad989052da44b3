"""``GET /metrics`` through real MFA logins: Prometheus counters read back from the audit trail,
the same from every app on the database, no user data in a label, and 503 when the database
is down."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from authserver.api.metrics import Exposition
from authserver.extensions import db, services
from authserver.models import AuditEvent
from authserver.monitoring import FACTORS
from authserver.sms.credits import SmsCredits
from tests.api.test_mfa_limits import wrong_code
from tests.api.test_mfa_sms import PHONE, challenge, enroll_phone, oob_grant, top_up
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    access_token,
    assert_error,
    mfa_grant,
    mfa_token,
)
from tests.support import Outbox, free_port

NONE = dict.fromkeys(FACTORS, 0)  # every factor's count, before a test adds its own

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FAMILIES = {
    "protekt_mfa_challenges": "counter", "protekt_mfa_verifications": "counter",
    "protekt_mfa_lockouts": "counter", "protekt_sms_sent": "counter",
    "protekt_sms_failed": "counter", "protekt_sms_credits_used": "counter",
    "protekt_sms_credits_balance": "gauge",
}


def scrape(client: FlaskClient) -> Samples:
    """Every sample of the exposition, by (name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def per_factor(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    return {factor: samples[name, tuple(sorted({"factor": factor, **labels}.items()))]
            for factor in FACTORS}


def test_the_exposition_is_prometheus_text_never_cached(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["Cache-Control"] == "no-store"
    families = text_string_to_metric_families(response.get_data(as_text=True))
    assert {family.name: family.type for family in families} == FAMILIES
    assert all(value == 0 for value in scrape(client).values())


def test_mfa_logins_are_counted_by_factor_and_result(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_max_consecutive_failures=3)
    drive_logins(client, web_app, mfa_user)
    samples = scrape(client)
    assert per_factor(samples, "protekt_mfa_challenges_total") == {**NONE, "otp": 1}
    assert per_factor(samples, "protekt_mfa_verifications_total", result="success") == {
        **NONE, "otp": 1, "recovery-code": 1}
    assert per_factor(samples, "protekt_mfa_verifications_total", result="failure") == {
        **NONE, "otp": 4, "recovery-code": 1}
    assert per_factor(samples, "protekt_mfa_lockouts_total") == {**NONE, "otp": 1}


def drive_logins(client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser) -> None:
    """With at most 3 failures in a row: one otp challenge, an otp login, 2 wrong codes, a
    recovery-code login, that code again (wrong), 2 more wrong codes, then the lockout."""
    def otp(ticket: str, code: str) -> Any:
        return mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=code)

    def recovery(code: str) -> Any:
        return mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
                         recovery_code=code)

    ticket = mfa_token(client, web_app)
    assert client.post("/mfa/challenge", auth=web_app.basic,
                       data={"mfa_token": ticket, "challenge_type": "otp"}).status_code == 200
    assert otp(ticket, mfa_user.device.next_code()).status_code == 200
    ticket = mfa_token(client, web_app)
    for _ in range(2):
        assert otp(ticket, wrong_code(mfa_user.device)).status_code == 400
    assert recovery(mfa_user.recovery_codes[0]).status_code == 200  # resets the run of failures
    assert recovery(mfa_user.recovery_codes[0]).status_code == 400  # spent
    ticket = mfa_token(client, web_app)
    for _ in range(2):
        assert otp(ticket, wrong_code(mfa_user.device)).status_code == 400
    assert_error(otp(ticket, wrong_code(mfa_user.device)), "too_many_attempts", 429)


@pytest.fixture
def phone_user(app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any) -> None:
    """Ann with an active phone, and 100 SMS credits."""
    top_up(app, 100)
    assert enroll_phone(client, access_token(client, web_app)).status_code == 200


@pytest.mark.usefixtures("phone_user")
def test_sms_is_counted_and_the_balance_is_read_by_every_app(
    client: FlaskClient, make_app: Callable[..., Flask], web_app: RegisteredClient,
    outbox: Outbox,
) -> None:
    """A refused send (debited, refunded), then a sent code and its login: another app on the
    same database, which did neither, reports the same counts."""
    refusing = make_app(PROTEKT_SMS_OUTBOX=str(outbox.path.parent / "missing" / "outbox.jsonl"))
    ticket = mfa_token(client, web_app)
    assert_error(challenge(refusing.test_client(), web_app, ticket), "temporarily_unavailable",
                 503)
    sent = challenge(client, web_app, ticket)
    assert sent.status_code == 200, sent.get_json()
    login = oob_grant(client, web_app, ticket, sent.get_json()["oob_code"],
                      outbox.last_code(PHONE))
    assert login.status_code == 200, login.get_json()
    expected = {"protekt_sms_sent_total": 1, "protekt_sms_failed_total": 1,
                "protekt_sms_credits_used_total": 1, "protekt_sms_credits_balance": 99}
    for reader in (client, make_app().test_client()):
        samples = scrape(reader)
        assert {name: samples[name, ()] for name in expected} == expected
        assert per_factor(samples, "protekt_mfa_challenges_total")["sms"] == 1
        assert per_factor(samples, "protekt_mfa_verifications_total", result="success") == {
            **NONE, "sms": 1}


def test_no_label_holds_user_client_or_address_data(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
    user: Any,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_max_consecutive_failures=3)
    drive_logins(client, web_app, mfa_user)
    with app.app_context():
        trail = db.session.execute(select(AuditEvent.user_id, AuditEvent.client_id,
                                          AuditEvent.ip)).all()
    private = {value for row in trail for value in row if value} | {user.id, user.email,
                                                                    web_app.client_id}
    assert {user.id, web_app.client_id, "127.0.0.1"} <= private  # the trail does name them
    labels = {value for _, pairs in scrape(client) for _, value in pairs}
    assert labels == {*FACTORS, "success", "failure"}
    assert not labels & private


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_database_down_is_503_temporarily_unavailable(
    app: Flask, make_app: Callable[..., Flask],
) -> None:
    """``app`` first: the fixture clears the tables through the first app it built."""
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    response = make_app(PROTEKT_DATABASE_URL=nowhere).test_client().get("/metrics")
    assert_error(response, "temporarily_unavailable", 503)
    assert "protekt_" not in response.get_data(as_text=True)


def test_a_database_error_after_the_totals_gives_no_partial_exposition(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lost(_self: SmsCredits) -> int:
        raise sa_exc.OperationalError("SELECT balance", {}, ConnectionResetError("gone"))

    monkeypatch.setattr(SmsCredits, "balance", lost)
    response = client.get("/metrics")
    assert_error(response, "temporarily_unavailable", 503)
    assert "protekt_" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("seconds", "reused"), [("60", True), ("0", False)])
def test_a_process_reuses_its_answer_for_the_configured_seconds(
    make_app: Callable[..., Flask], seconds: str, reused: bool,
) -> None:
    app = make_app(PROTEKT_METRICS_CACHE_SECONDS=seconds)
    http = app.test_client()
    before = scrape(http)
    with app.app_context():
        services.flows.security_settings.top_up(7)
    after = scrape(http)
    assert before[("protekt_sms_credits_balance", ())] == 0
    assert after[("protekt_sms_credits_balance", ())] == (0 if reused else 7)


def test_while_one_request_counts_the_others_get_the_previous_answer() -> None:
    """A flood of scrapes holds no threads waiting on a slow count (after the first one)."""
    exposition = Exposition(0)
    assert exposition.current(lambda: b"first") == b"first"
    counting, release = threading.Event(), threading.Event()

    def slow_count() -> bytes:
        counting.set()
        release.wait(5)
        return b"second"

    answers: list[bytes] = []
    worker = threading.Thread(target=lambda: answers.append(exposition.current(slow_count)))
    worker.start()
    assert counting.wait(5)
    assert exposition.current(lambda: b"not counted: busy") == b"first"
    release.set()
    worker.join(5)
    assert answers == [b"second"]
