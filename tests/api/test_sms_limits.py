"""What stands between an attacker and the SMS bill: send limits, countries, credits, and what a
failing provider leaves behind. Each refusal must leave the provider uncalled."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.models.base import new_id
from authserver.sms import phone
from tests.api.test_mfa_sms import (
    PHONE,
    balance,
    challenge,
    configure,
    enroll_phone,
    events,
    oob_grant,
    top_up,
)
from tests.conftest import (
    RegisteredClient,
    access_token,
    assert_error,
    mfa_token,
    password_login,
)
from tests.sms.fakes import FakeTwilio, FakeWebhook
from tests.support import Outbox

PHONES = ("+14155552671", "+14155552672", "+14155552673")
WEBHOOK_SECRET = "w" * 40
TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 32, "twilio-auth-token"


def login_for(client: FlaskClient, app_client: RegisteredClient, email: str) -> str:
    response = password_login(client, app_client, username=email)
    assert response.status_code == 403, response.get_json()
    return response.get_json()["mfa_token"]


@pytest.fixture
def people(app: Flask, make_user: Callable[..., Any]) -> Callable[..., list[str]]:
    """Make a user with active phones (set up through the domain layer); their ids.
    1000 credits in the bank."""
    top_up(app, 1000)

    def person(email: str, *numbers: str) -> list[str]:
        user = make_user(email)
        with app.app_context():
            ids = [services.mfa.authenticators.add_sms(new_id(), user.id, "Phone",
                                                       phone.parse(n), active=True).id
                   for n in numbers]
            db.session.commit()
        return ids

    return person


def assert_limited(response: Any, outbox: Outbox, sent_before: int, words: str) -> None:
    body = assert_error(response, "too_many_attempts", 429)
    assert words in body["error_description"]
    assert int(response.headers["Retry-After"]) >= 1
    assert len(outbox.messages()) == sent_before, "a refused send must not reach the provider"


def test_a_resend_within_the_cooldown_is_refused(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    outbox: Outbox,
) -> None:
    people("ann@example.org", PHONE)
    token_value = mfa_token(client, web_app)
    oob_code = challenge(client, web_app, token_value).get_json()["oob_code"]
    again = challenge(client, web_app, token_value)
    assert_limited(again, outbox, 1, "Wait before asking for another")
    assert int(again.headers["Retry-After"]) <= 30
    # a new login does not reset it: the cool-down belongs to the phone
    assert_limited(challenge(client, web_app, mfa_token(client, web_app)), outbox, 1, "Wait")
    # and the refused resends left the code on the phone working
    granted = oob_grant(client, web_app, token_value, oob_code, outbox.last_code())
    assert granted.status_code == 200, granted.get_json()


def test_enrolling_the_same_number_again_does_not_restart_the_cooldown(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any, outbox: Outbox,
) -> None:
    configure(app, sms_confirm_phone=True)
    top_up(app, 10)
    bearer_token = access_token(client, web_app)
    assert enroll_phone(client, bearer_token).status_code == 200
    assert_limited(enroll_phone(client, bearer_token), outbox, 1, "Wait before asking")


def test_the_hourly_cap_per_user_counts_across_phones(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    outbox: Outbox,
) -> None:
    configure(app, sms_user_hourly=2)
    ids = people("ann@example.org", *PHONES)
    token_value = mfa_token(client, web_app)
    for authenticator_id in ids[:2]:
        assert challenge(client, web_app, token_value,
                         authenticator_id=authenticator_id).status_code == 200
    third = challenge(client, web_app, token_value, authenticator_id=ids[2])
    assert_limited(third, outbox, 2, "for this account")
    assert [e["limits"] for e in events(app, "sms.limited")] == [["sms-user"]]


@pytest.mark.parametrize(("setting", "bobs_phone", "words"), [
    # SMS pumping: many accounts, one premium number
    ("sms_phone_hourly", PHONE, "to this phone number"),
    ("sms_ip_hourly", PHONES[1], "from this address"),
])
def test_the_hourly_caps_per_number_and_per_ip_count_across_users(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, *,
    people: Callable[..., list[str]], outbox: Outbox, setting: str, bobs_phone: str, words: str,
) -> None:
    configure(app, **{setting: 1})
    people("ann@example.org", PHONE)
    people("bob@example.org", bobs_phone)
    assert challenge(client, web_app, login_for(client, web_app, "ann@example.org")
                     ).status_code == 200
    bob = challenge(client, web_app, login_for(client, web_app, "bob@example.org"))
    assert_limited(bob, outbox, 1, words)


def test_a_country_taken_off_the_list_gets_no_more_sms(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    outbox: Outbox,
) -> None:
    people("ann@example.org", PHONE)
    configure(app, sms_allowed_countries=["GB", "FR"])
    refused = challenge(client, web_app, mfa_token(client, web_app))
    assert "US is not allowed" in assert_error(refused, "invalid_request", 400)[
        "error_description"]
    assert outbox.messages() == [] and balance(app) == 1000


# --- credits --------------------------------------------------------------------------------

def test_without_credits_nothing_is_sent_and_the_error_says_why(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    outbox: Outbox,
) -> None:
    people("ann@example.org", PHONE)
    with app.app_context():
        services.mfa.sms_credits.debit(1000, 0)
    token_value = mfa_token(client, web_app)
    refused = challenge(client, web_app, token_value)
    assert "sms_credits_exhausted" in assert_error(refused, "temporarily_unavailable", 503)[
        "error_description"]
    assert outbox.messages() == []
    top_up(app, 1)  # the refusal spent no cool-down: a retry after a top-up goes out
    assert challenge(client, web_app, token_value).status_code == 200
    assert balance(app) == 0


def test_each_segment_is_debited_and_the_low_balance_is_recorded(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    outbox: Outbox,
) -> None:
    people("ann@example.org", PHONE)
    configure(app, sms_low_credit_threshold=999, sms_template="Ваш код {code}")
    assert challenge(client, web_app, mfa_token(client, web_app)).status_code == 200
    assert outbox.last()["body"].startswith("Ваш код")
    assert balance(app) == 999
    debited = events(app, "sms.credits.debited")
    assert [(e["amount"], e["balance"]) for e in debited] == [(1, 999)]
    assert events(app, "sms.credits.low") == [{"balance": 999, "threshold": 999}]


# --- providers that fail, and the real protocols ----------------------------------------------

@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    with FakeWebhook() as fake:
        yield fake


@pytest.fixture
def webhook_app(make_app: Callable[..., Flask], webhook: FakeWebhook) -> Flask:
    return make_app(PROTEKT_SMS_PROVIDER="webhook", PROTEKT_SMS_WEBHOOK_URL=webhook.url,
                    PROTEKT_SMS_WEBHOOK_SECRET=WEBHOOK_SECRET, PROTEKT_SMS_TIMEOUT="1")


@pytest.mark.usefixtures("app")
def test_a_failing_provider_costs_nothing_and_leaves_no_usable_code(
    client: FlaskClient, web_app: RegisteredClient, people: Callable[..., list[str]],
    webhook_app: Flask, webhook: FakeWebhook,
) -> None:
    people("ann@example.org", PHONE)
    configure(webhook_app, sms_resend_cooldown=1)
    failing = webhook_app.test_client()
    token_value = mfa_token(client, web_app)
    first = challenge(failing, web_app, token_value).get_json()
    first_code = webhook.requests[-1].json["body"][:6]
    time.sleep(1.1)
    webhook.statuses = [500]
    refused = challenge(failing, web_app, token_value)
    body = assert_error(refused, "temporarily_unavailable", 503)
    assert "sms_delivery_failed" in body["error_description"]
    assert len(webhook.requests) == 3  # the first send, then the failing one and its retry
    assert balance(webhook_app) == 999  # the first SMS only
    unsent_code = webhook.requests[-1].json["body"][:6]
    assert_error(oob_grant(client, web_app, token_value, first["oob_code"], unsent_code),
                 "invalid_grant", 400)
    assert [(e["provider"], e["outcome"]) for e in events(webhook_app, "sms.failed")] == [
        ("webhook", "refused")]
    webhook.statuses = [200]  # the failure spent no cool-down either
    resent = challenge(failing, web_app, token_value).get_json()
    resent_code = webhook.requests[-1].json["body"][:6]
    assert_error(oob_grant(client, web_app, token_value, first["oob_code"], first_code),
                 "invalid_grant", 400)  # replaced by the resend that went out
    granted = oob_grant(client, web_app, token_value, resent["oob_code"], resent_code)
    assert granted.status_code == 200, granted.get_json()


def test_a_provider_that_does_not_answer_is_not_a_free_send(
    make_app: Callable[..., Flask], web_app: RegisteredClient,
    people: Callable[..., list[str]],
) -> None:
    """It may have sent (and billed) the SMS: the credit and the cool-down stay spent."""
    people("ann@example.org", PHONE)
    with FakeWebhook(delay=1.0) as slow:
        slow_app = make_app(PROTEKT_SMS_PROVIDER="webhook", PROTEKT_SMS_WEBHOOK_URL=slow.url,
                            PROTEKT_SMS_WEBHOOK_SECRET=WEBHOOK_SECRET, PROTEKT_SMS_TIMEOUT="0.2")
        client = slow_app.test_client()
        token_value = mfa_token(client, web_app)
        unanswered = challenge(client, web_app, token_value)
        assert "sms_delivery_failed" in assert_error(
            unanswered, "temporarily_unavailable", 503)["error_description"]
        assert_error(challenge(client, web_app, token_value), "too_many_attempts", 429)
        assert len(slow.requests) == 1  # not retried: the gateway may have sent it
    assert balance(slow_app) == 999
    assert [e["outcome"] for e in events(slow_app, "sms.failed")] == ["unknown"]


def test_a_provider_error_naming_the_number_is_logged_masked(
    make_app: Callable[..., Flask], web_app: RegisteredClient,
    people: Callable[..., list[str]], caplog: pytest.LogCaptureFixture,
) -> None:
    people("ann@example.org", PHONE)
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as twilio:
        twilio.fail_with(400, 21610, f"Attempt to send to unsubscribed recipient {PHONE}")
        twilio_app = make_app(
            PROTEKT_SMS_PROVIDER="twilio", PROTEKT_TWILIO_ACCOUNT_SID=TWILIO_SID,
            PROTEKT_TWILIO_AUTH_TOKEN=TWILIO_TOKEN, PROTEKT_TWILIO_FROM="+15005550006",
            PROTEKT_TWILIO_API_URL=twilio.url,
        )
        client = twilio_app.test_client()
        with caplog.at_level(logging.INFO):
            refused = challenge(client, web_app, mfa_token(client, web_app))
    assert_error(refused, "temporarily_unavailable", 503)
    assert "21610" in caplog.text and "+1******2671" in caplog.text
    assert PHONE[1:] not in caplog.text


def test_the_twilio_provider_sends_what_twilio_expects(
    app: Flask, make_app: Callable[..., Flask], web_app: RegisteredClient,
    people: Callable[..., list[str]],
) -> None:
    people("ann@example.org", PHONE)
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as twilio:
        twilio_app = make_app(
            PROTEKT_SMS_PROVIDER="twilio", PROTEKT_TWILIO_ACCOUNT_SID=TWILIO_SID,
            PROTEKT_TWILIO_AUTH_TOKEN=TWILIO_TOKEN, PROTEKT_TWILIO_FROM="+15005550006",
            PROTEKT_TWILIO_API_URL=twilio.url,
        )
        client = twilio_app.test_client()
        token_value = mfa_token(client, web_app)
        oob_code = challenge(client, web_app, token_value).get_json()["oob_code"]
        (request,) = twilio.requests
    assert (request.method, request.path) == (
        "POST", f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    assert set(request.form) == {"To", "From", "Body"}
    assert (request.form["To"], request.form["From"]) == (PHONE, "+15005550006")
    code = request.form["Body"][:6]
    assert request.form["Body"] == f"{code} is your Protekt verification code. " \
                                   "It expires in 5 minutes."
    granted = oob_grant(client, web_app, token_value, oob_code, code)
    assert granted.status_code == 200, granted.get_json()
