"""SMS providers against real local HTTP servers: the exact Twilio request, the signed webhook,
retries and timeouts, the outbox file under parallel appends, the console line, and the wiring
from settings."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from authserver.config import Settings
from authserver.sms.providers import (
    ConsoleProvider,
    DeliveryFailed,
    DeliveryUncertain,
    FileProvider,
    SmsMessage,
    TwilioProvider,
    WebhookProvider,
    open_provider,
)
from tests.sms.fakes import FakeTwilio, FakeWebhook, segments
from tests.support import TEST_ENCRYPTION_KEY, free_port, run_parallel

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f" * 32
SENDER = "+15005550006"
SERVICE = "MG" + "fedcba9876543210" * 2
SECRET = "s" * 40
MESSAGE = SmsMessage(to="+14155552671", body="Your Protekt code is 123456", code="123456")


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as fake:
        yield fake


def twilio_provider(fake: FakeTwilio, sender: str = SENDER, token: str = TOKEN,
                    timeout: float = 5.0) -> TwilioProvider:
    return TwilioProvider(SID, token, sender, fake.url, timeout)


# Twilio


def test_twilio_receives_a_form_post_to_the_messages_resource(twilio: FakeTwilio) -> None:
    twilio_provider(twilio).send(MESSAGE)
    [request] = twilio.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    scheme, credentials = request.headers["Authorization"].split(" ")
    assert (scheme, base64.b64decode(credentials).decode()) == ("Basic", f"{SID}:{TOKEN}")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"].startswith("twilio-python/")
    assert request.form == {"To": MESSAGE.to, "From": SENDER, "Body": MESSAGE.body}


def test_twilio_with_a_messaging_service_sends_its_sid_instead_of_from(twilio: FakeTwilio) -> None:
    twilio_provider(twilio, sender=SERVICE).send(MESSAGE)
    assert twilio.requests[0].form == {
        "To": MESSAGE.to, "MessagingServiceSid": SERVICE, "Body": MESSAGE.body}


@pytest.mark.parametrize(("setup", "message", "expected"), [
    (lambda fake: None, dataclasses.replace(MESSAGE, to="4155552671"), "21211 (HTTP 400)"),
    (lambda fake: None, dataclasses.replace(MESSAGE, body=""), "21602 (HTTP 400)"),
    (lambda fake: fake.fail_with(500, 20500, "Internal Server Error"), MESSAGE, "(HTTP 500)"),
    (lambda fake: fake.fail_with(429, 20429, "Too Many Requests"), MESSAGE, "20429 (HTTP 429)"),
    (lambda fake: setattr(fake, "message_status", "failed"), MESSAGE, " is failed"),
], ids=["invalid-to", "empty-body", "server-error", "rate-limited", "failed-status"])
def test_twilio_refusals_are_delivery_failures(twilio: FakeTwilio,
                                               setup: Callable[[FakeTwilio], object],
                                               message: SmsMessage, expected: str) -> None:
    setup(twilio)
    with pytest.raises(DeliveryFailed, match=re.escape(expected)):
        twilio_provider(twilio).send(message)
    assert len(twilio.requests) == 1  # the library does not retry on its own


def test_twilio_wrong_token_is_20003_and_the_token_stays_out_of_the_detail(
        twilio: FakeTwilio) -> None:
    wrong = "0" * 32
    with pytest.raises(DeliveryFailed) as caught:
        twilio_provider(twilio, token=wrong).send(MESSAGE)
    assert "20003" in str(caught.value) and "401" in str(caught.value)
    assert wrong not in str(caught.value) and TOKEN not in str(caught.value)


def test_twilio_slower_than_the_timeout_may_have_sent(twilio: FakeTwilio) -> None:
    """Twilio got the request and may have sent it: the outcome is unknown, not a refusal."""
    twilio.delay = 2.0
    with pytest.raises(DeliveryUncertain, match="Timeout"):
        twilio_provider(twilio, timeout=0.3).send(MESSAGE)
    assert len(twilio.requests) == 1


def test_twilio_unreachable_is_a_delivery_failure() -> None:
    provider = TwilioProvider(SID, TOKEN, SENDER, f"http://127.0.0.1:{free_port()}", 1.0)
    with pytest.raises(DeliveryFailed, match="ConnectionError") as caught:
        provider.send(MESSAGE)
    assert not isinstance(caught.value, DeliveryUncertain)


def test_the_fake_twilio_answers_like_twilio(twilio: FakeTwilio) -> None:
    """The stand-in's own contract, so a passing provider test means something."""
    twilio_provider(twilio).send(MESSAGE)
    [created] = twilio.created
    assert created["sid"].startswith("SM") and len(created["sid"]) == 34
    assert created["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{created['sid']}.json"
    assert (created["status"], created["num_segments"], created["from"]) == ("queued", "1", SENDER)
    assert segments("x" * 161) == 2 and segments("é" * 71) == 2


GOOD = {"To": MESSAGE.to, "From": SENDER, "Body": "hi"}


@pytest.mark.parametrize(("account", "auth", "form", "expected"), [
    (SID, None, GOOD, (401, 20003)),
    ("AC" + "9" * 32, (SID, TOKEN), GOOD, (401, 20003)),
    (SID, (SID, TOKEN), {"From": SENDER, "Body": "hi"}, (400, 21604)),
    (SID, (SID, TOKEN), {"To": MESSAGE.to, "Body": "hi"}, (400, 21603)),
    (SID, (SID, TOKEN), {"To": MESSAGE.to, "From": SENDER}, (400, 21602)),
    (SID, (SID, TOKEN), {**GOOD, "To": "(415) 555-2671"}, (400, 21211)),
], ids=["no-auth", "other-account", "no-to", "no-from", "no-body", "not-e164"])
def test_the_fake_twilio_refuses_like_twilio(twilio: FakeTwilio, account: str,
                                             auth: tuple[str, str] | None, form: dict[str, str],
                                             expected: tuple[int, int]) -> None:
    url = f"{twilio.url}/2010-04-01/Accounts/{account}/Messages.json"
    answer = requests.post(url, data=form, auth=auth, timeout=5)
    status, code = expected
    assert (answer.status_code, answer.json()["status"], answer.json()["code"]) == (
        status, status, code)
    assert answer.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


# Webhook


def webhook_provider(fake: FakeWebhook, timeout: float = 2.0) -> WebhookProvider:
    return WebhookProvider(fake.url, SECRET, timeout)


def test_webhook_posts_signed_json() -> None:
    with FakeWebhook() as fake:
        webhook_provider(fake).send(MESSAGE)
    [request] = fake.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.json.keys() == {"id", "to", "body", "timestamp"}
    assert (request.json["to"], request.json["body"]) == (MESSAGE.to, MESSAGE.body)
    assert request.headers["X-Protekt-Signature"].startswith(f"t={request.json['timestamp']},v1=")
    assert FakeWebhook.verify(request, SECRET)


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    with FakeWebhook() as fake:
        webhook_provider(fake).send(MESSAGE)
    request = fake.requests[0]
    tampered = dataclasses.replace(request, raw=request.raw.replace(b"123456", b"654321"))
    assert not FakeWebhook.verify(tampered, SECRET)
    assert not FakeWebhook.verify(request, "t" * 40)


@pytest.mark.parametrize(("statuses", "accepted", "attempts"), [
    ([503, 200], True, 2),
    ([503, 503], False, 2),
    ([400], False, 1),
    ([302], False, 1),
])
def test_webhook_retries_once_on_5xx_only(statuses: list[int], accepted: bool,
                                          attempts: int) -> None:
    with FakeWebhook(statuses) as fake:
        if accepted:
            webhook_provider(fake).send(MESSAGE)
        else:
            with pytest.raises(DeliveryFailed, match=f"HTTP {statuses[-1]}"):
                webhook_provider(fake).send(MESSAGE)
    assert len(fake.requests) == attempts
    assert len({request.raw for request in fake.requests}) == 1  # same id, body and signature
    assert len({request.headers["X-Protekt-Signature"] for request in fake.requests}) == 1


def test_a_webhook_that_does_not_answer_in_time_is_not_retried() -> None:
    """The gateway has the request and may send it: a retry could send the code twice."""
    with FakeWebhook(delay=2.0) as fake:
        with pytest.raises(DeliveryUncertain, match="ReadTimeout"):
            webhook_provider(fake, timeout=0.2).send(MESSAGE)
        assert len(fake.requests) == 1


def test_an_unreachable_webhook_is_retried_once_then_fails() -> None:
    provider = WebhookProvider(f"http://127.0.0.1:{free_port()}/sms", SECRET, 1.0)
    with pytest.raises(DeliveryFailed, match=r"failed 2 times.*ConnectionError") as caught:
        provider.send(MESSAGE)
    assert not isinstance(caught.value, DeliveryUncertain)


# File and console


def read_outbox(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_file_appends_one_json_line_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    provider = FileProvider(outbox)
    provider.send(MESSAGE)
    provider.send(dataclasses.replace(MESSAGE, body="Your Protekt code is 999000", code="999000"))
    first, second = read_outbox(outbox)
    assert {k: first[k] for k in ("to", "body", "code")} == dataclasses.asdict(MESSAGE)
    assert second["code"] == "999000"
    assert datetime.fromisoformat(first["time"]).utcoffset().total_seconds() == 0
    assert stat.S_IMODE(os.stat(outbox).st_mode) == 0o600  # it holds live codes


def test_parallel_appends_keep_every_line_intact(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    provider = FileProvider(outbox)
    body = "Your Protekt code is 123456 " + "x" * 3000  # long lines tear first if anything does
    run_parallel(50, lambda: provider.send(dataclasses.replace(MESSAGE, body=body)))
    lines = read_outbox(outbox)
    assert len(lines) == 50 and all(line["body"] == body for line in lines)


def test_an_unwritable_outbox_is_a_delivery_failure(tmp_path: Path) -> None:
    with pytest.raises(DeliveryFailed, match="outbox"):
        FileProvider(tmp_path / "missing" / "outbox.jsonl").send(MESSAGE)


def test_console_logs_the_text_on_protekt_sms(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="protekt.sms"):
        ConsoleProvider().send(MESSAGE)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("protekt.sms", logging.WARNING, f"SMS to {MESSAGE.to}: {MESSAGE.body}")]


# open_provider


def settings(**env: str) -> Settings:
    return Settings.from_env({"PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY, **env})


def test_open_provider_defaults_to_the_console() -> None:
    assert isinstance(open_provider(settings()), ConsoleProvider)


def test_open_provider_builds_the_file_provider(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    provider = open_provider(settings(PROTEKT_SMS_PROVIDER="file", PROTEKT_SMS_OUTBOX=str(outbox)))
    provider.send(MESSAGE)
    assert (provider.name, read_outbox(outbox)[0]["code"]) == ("file", MESSAGE.code)


def test_open_provider_builds_twilio_from_its_settings(twilio: FakeTwilio) -> None:
    provider = open_provider(settings(
        PROTEKT_SMS_PROVIDER="twilio", PROTEKT_TWILIO_ACCOUNT_SID=SID,
        PROTEKT_TWILIO_AUTH_TOKEN=TOKEN, PROTEKT_TWILIO_FROM=SERVICE,
        PROTEKT_TWILIO_API_URL=twilio.url, PROTEKT_SMS_TIMEOUT="0.3"))
    provider.send(MESSAGE)
    assert provider.name == "twilio" and twilio.requests[0].form["MessagingServiceSid"] == SERVICE
    twilio.delay = 2.0
    with pytest.raises(DeliveryFailed, match="Timeout"):  # PROTEKT_SMS_TIMEOUT reached it
        provider.send(MESSAGE)


def test_open_provider_builds_the_webhook_from_its_settings() -> None:
    with FakeWebhook() as fake:
        provider = open_provider(settings(
            PROTEKT_SMS_PROVIDER="webhook", PROTEKT_SMS_WEBHOOK_URL=fake.url,
            PROTEKT_SMS_WEBHOOK_SECRET=SECRET))
        provider.send(MESSAGE)
    assert provider.name == "webhook" and FakeWebhook.verify(fake.requests[0], SECRET)
