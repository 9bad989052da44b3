"""The SMS factor through the API: enrollment, challenge, the mfa-oob grant, and what each
refusal costs (nothing: no SMS, no credit, no usable code)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver.extensions import db, services
from authserver.models import AuditEvent, Authenticator
from tests.conftest import (
    RegisteredClient,
    access_token,
    assert_error,
    bearer,
    mfa_grant,
    mfa_token,
    unverified,
)
from tests.support import Outbox

PHONE = "+14155552671"
OTHER_PHONE = "+447400123456"
AUTH0_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def top_up(app: Flask, amount: int) -> None:
    with app.app_context():
        services.flows.security_settings.top_up(amount)


def balance(app: Flask) -> int:
    with app.app_context():
        return services.mfa.sms_credits.balance()


def events(app: Flask, kind: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.type == kind))
        return [row.detail for row in rows]


def enroll_phone(client: FlaskClient, bearer_token: str, number: str = PHONE,
                 **body: Any) -> Any:
    return client.post("/mfa/associate", json={"type": "sms", "phone_number": number, **body},
                       headers=bearer(bearer_token))


def challenge(client: FlaskClient, app_client: RegisteredClient, token_value: str,
              challenge_type: str = "sms", **extra: str) -> Any:
    return client.post("/mfa/challenge", auth=app_client.basic, data={
        "mfa_token": token_value, "challenge_type": challenge_type, **extra})


def oob_grant(client: FlaskClient, app_client: RegisteredClient, token_value: str,
              oob_code: str, code: str) -> Any:
    return mfa_grant(client, app_client, "mfa-oob", mfa_token=token_value, oob_code=oob_code,
                     binding_code=code)


@pytest.fixture
def sms_user(app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any) -> str:
    """Ann with an active phone, and 100 SMS credits; the phone's authenticator id."""
    top_up(app, 100)
    response = enroll_phone(client, access_token(client, web_app))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def sent(client: FlaskClient, web_app: RegisteredClient, sms_user: str,
         outbox: Outbox) -> Callable[[], tuple[str, str, str]]:
    """Log in and challenge over SMS: (mfa_token, oob_code, the code the SMS carried)."""

    def login_and_challenge() -> tuple[str, str, str]:
        token_value = mfa_token(client, web_app)
        response = challenge(client, web_app, token_value)
        assert response.status_code == 200, response.get_json()
        return token_value, response.get_json()["oob_code"], outbox.last_code(PHONE)

    return login_and_challenge


# --- enrollment ---------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"type": "sms", "phone_number": "+1 (415) 555-2671"},
    {"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+14155552671"},
])
def test_a_phone_is_active_at_once_and_listed_masked(
    client: FlaskClient, web_app: RegisteredClient, user: Any, outbox: Outbox,
    body: dict[str, Any],
) -> None:
    bearer_token = access_token(client, web_app)
    response = client.post("/mfa/associate", json=body, headers=bearer(bearer_token))
    assert response.status_code == 200, response.get_json()
    enrolled = response.get_json()
    assert (enrolled["authenticator_type"], enrolled["oob_channel"], enrolled["active"]) == (
        "oob", "sms", True)
    assert len(enrolled["recovery_codes"]) == 10 and "oob_code" not in enrolled
    assert outbox.messages() == []  # the guide: SMS enrollment is immediate, nothing is sent
    listed = client.get("/mfa/authenticators", headers=bearer(bearer_token)).get_json()
    phone = next(item for item in listed if item["id"] == enrolled["id"])
    assert phone["phone_number"] == "+1******2671"
    assert PHONE not in str(listed)


@pytest.mark.parametrize(("number", "reason"), [
    ("4155552671", "international format"),
    ("+1415555", "not a valid phone number"),
    ("+442079460000", "fixed line"),
    ("+18005550100", "toll-free"),
    ("+1 415 CALL ME", "not a valid phone number"),
])
def test_a_bad_number_is_refused_with_the_reason(
    client: FlaskClient, web_app: RegisteredClient, user: Any, number: str, reason: str,
) -> None:
    response = enroll_phone(client, access_token(client, web_app), number)
    assert reason in assert_error(response, "invalid_request", 400)["error_description"]


def test_a_number_outside_the_allowed_countries_is_refused(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    configure(app, sms_allowed_countries=["GB"])
    bearer_token = access_token(client, web_app)
    refused = enroll_phone(client, bearer_token, PHONE)
    assert "US is not allowed" in assert_error(refused, "invalid_request", 400)[
        "error_description"]
    assert enroll_phone(client, bearer_token, OTHER_PHONE).status_code == 200


def test_phone_number_is_required_and_a_number_is_enrolled_once(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    bearer_token = access_token(client, web_app)
    missing = client.post("/mfa/associate", json={"type": "sms"}, headers=bearer(bearer_token))
    assert "phone_number" in assert_error(missing, "invalid_request", 400)["error_description"]
    assert enroll_phone(client, bearer_token).status_code == 200
    # a second phone now needs an mfa login; the check of the number comes after that
    again = enroll_phone(client, bearer_token)
    assert_error(again, "mfa_required", 403)


# --- phone confirmation ---------------------------------------------------------------------

@pytest.fixture
def confirming(app: Flask) -> None:
    configure(app, sms_confirm_phone=True)
    top_up(app, 100)


@pytest.mark.usefixtures("confirming")
def test_with_confirmation_on_a_code_is_sent_and_the_phone_waits_for_it(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any, outbox: Outbox,
) -> None:
    bearer_token = access_token(client, web_app)
    enrolled = enroll_phone(client, bearer_token).get_json()
    assert enrolled["active"] is False and enrolled["binding_method"] == "prompt"
    assert enrolled["oob_code"]
    code = outbox.last_code(PHONE)
    url = f"/mfa/authenticators/{enrolled['id']}/confirm"
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert_error(client.post(url, json={"binding_code": wrong}, headers=bearer(bearer_token)),
                 "invalid_grant", 400)
    foreign = client.post(url, json={"binding_code": code, "oob_code": "x" * 43},
                          headers=bearer(bearer_token))
    assert_error(foreign, "invalid_grant", 400)
    assert_error(client.post(url, json={"otp": code}, headers=bearer(bearer_token)),
                 "invalid_request", 400)
    confirmed = client.post(url, json={"binding_code": code, "oob_code": enrolled["oob_code"]},
                            headers=bearer(bearer_token))
    assert confirmed.get_json() == {"id": enrolled["id"], "authenticator_type": "oob",
                                    "active": True}
    assert balance(app) == 99


@pytest.mark.usefixtures("confirming")
def test_login_enrollment_of_a_phone_is_finished_by_the_mfa_oob_grant(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any, outbox: Outbox,
) -> None:
    configure(app, policy="required")
    token_value = mfa_token(client, web_app)
    enrolled = enroll_phone(client, token_value).get_json()
    assert enrolled["active"] is False
    granted = oob_grant(client, web_app, token_value, enrolled["oob_code"],
                        outbox.last_code(PHONE))
    assert granted.status_code == 200, granted.get_json()
    assert unverified(granted.get_json()["access_token"])[1]["amr"] == ["pwd", "sms", "mfa"]
    with app.app_context():
        assert db.session.get(Authenticator, enrolled["id"]).active


@pytest.mark.usefixtures("confirming")
def test_a_refused_confirmation_send_leaves_no_pending_phone(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any, outbox: Outbox,
) -> None:
    with app.app_context():
        services.mfa.sms_credits.debit(100, 0)
    bearer_token = access_token(client, web_app)
    refused = enroll_phone(client, bearer_token)
    assert "sms_credits_exhausted" in assert_error(refused, "temporarily_unavailable", 503)[
        "error_description"]
    assert client.get("/mfa/authenticators", headers=bearer(bearer_token)).get_json() == []
    assert outbox.messages() == []


# --- challenge and grant ---------------------------------------------------------------------

def test_the_sms_login_gives_tokens_with_amr_sms(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, sms_user: str, outbox: Outbox,
) -> None:
    required = mfa_token(client, web_app)
    token_value = required
    response = challenge(client, web_app, token_value)
    body = response.get_json()
    assert (body["challenge_type"], body["binding_method"]) == ("oob", "prompt")
    assert response.headers["Cache-Control"] == "no-store"
    message = outbox.last(PHONE)
    assert message["body"] == (f"{message['code']} is your Protekt verification code. "
                               "It expires in 5 minutes.")
    granted = oob_grant(client, web_app, token_value, body["oob_code"], message["code"])
    assert granted.status_code == 200, granted.get_json()
    claims = unverified(granted.get_json()["access_token"])[1]
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert balance(app) == 99
    assert [e["to"] for e in events(app, "sms.sent")] == ["+1******2671"]


def test_mfa_required_offers_sms_and_oob_is_a_synonym_with_auth0s_grant_uri(
    client: FlaskClient, web_app: RegisteredClient, sms_user: str, outbox: Outbox,
) -> None:
    required = client.post("/oauth/token", auth=web_app.basic, data={
        "grant_type": "password", "username": "ann@example.org",
        "password": "correct horse battery"}).get_json()
    assert required["available_factors"] == ["sms", "recovery-code"]
    body = challenge(client, web_app, required["mfa_token"], "oob",
                     authenticator_id=sms_user).get_json()
    granted = client.post("/oauth/token", auth=web_app.basic, data={
        "grant_type": AUTH0_OOB, "mfa_token": required["mfa_token"],
        "oob_code": body["oob_code"], "binding_code": outbox.last_code()})
    assert granted.status_code == 200, granted.get_json()


def test_a_code_works_once_and_only_with_its_own_mfa_token(
    client: FlaskClient, web_app: RegisteredClient, sent: Callable[[], tuple[str, str, str]],
) -> None:
    first_token, first_oob, first_code = sent()
    other_token = mfa_token(client, web_app)
    assert_error(oob_grant(client, web_app, other_token, first_oob, first_code),
                 "invalid_grant", 400)
    assert oob_grant(client, web_app, first_token, first_oob, first_code).status_code == 200
    assert_error(oob_grant(client, web_app, first_token, first_oob, first_code),
                 "invalid_grant", 400)


def test_a_new_challenge_voids_the_previous_code(
    app: Flask, client: FlaskClient, web_app: RegisteredClient,
    sent: Callable[[], tuple[str, str, str]], outbox: Outbox,
) -> None:
    configure(app, sms_resend_cooldown=1)
    token_value, old_oob, old_code = sent()
    time.sleep(1.1)
    new_oob = challenge(client, web_app, token_value).get_json()["oob_code"]
    new_code = outbox.last_code()
    assert_error(oob_grant(client, web_app, token_value, old_oob, old_code), "invalid_grant", 400)
    assert oob_grant(client, web_app, token_value, new_oob, new_code).status_code == 200


def test_an_expired_code_answers_expired_token(
    monkeypatch: pytest.MonkeyPatch, app: Flask, client: FlaskClient,
    web_app: RegisteredClient,
    sent: Callable[[], tuple[str, str, str]],
) -> None:
    token_value, oob_code, code = sent()
    later = time.time() + 5 * 60 + 1
    monkeypatch.setattr("authserver.mfa.sms.time.time", lambda: later)
    expired = oob_grant(client, web_app, token_value, oob_code, code)
    assert "expired" in assert_error(expired, "expired_token", 400)["error_description"]
    assert [e["reason"] for e in events(app, "mfa.verify.failure")] == ["expired"]


def test_wrong_codes_count_toward_the_mfa_token_limit_like_totp(
    client: FlaskClient, web_app: RegisteredClient, sent: Callable[[], tuple[str, str, str]],
) -> None:
    token_value, oob_code, code = sent()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert_error(oob_grant(client, web_app, token_value, oob_code, wrong),
                     "invalid_grant", 400)
    assert_error(oob_grant(client, web_app, token_value, oob_code, code),
                 "too_many_attempts", 429)


@pytest.mark.parametrize(("params", "named"), [
    ({"binding_code": "12345"}, "binding_code"),
    ({"binding_code": "\uff11\uff12\uff13\uff14\uff15\uff16"}, "binding_code"),  # fullwidth
    ({"oob_code": ""}, "oob_code"),
    ({"oob_code": "x" * 101}, "oob_code"),
])
def test_malformed_oob_grants(
    client: FlaskClient, web_app: RegisteredClient, sent: Callable[[], tuple[str, str, str]],
    params: dict[str, str], named: str,
) -> None:
    token_value, oob_code, code = sent()
    data = {"mfa_token": token_value, "oob_code": oob_code, "binding_code": code, **params}
    response = mfa_grant(client, web_app, "mfa-oob", **data)
    assert named in assert_error(response, "invalid_request", 400)["error_description"]


def test_challenge_errors(
    client: FlaskClient, web_app: RegisteredClient, sms_user: str,
) -> None:
    token_value = mfa_token(client, web_app)
    assert_error(challenge(client, web_app, token_value, authenticator_id="nope"),
                 "not_found", 404)
    assert_error(challenge(client, web_app, token_value, "email"), "invalid_request", 400)


def test_a_client_without_the_mfa_oob_grant_cannot_make_us_send(
    app: Flask, client: FlaskClient, make_client: Callable[..., RegisteredClient],
    sms_user: str, outbox: Outbox,
) -> None:
    otp_only = make_client(name="OTP only", grant_types=[
        "password", "mfa-otp", "mfa-recovery-code"])
    token_value = mfa_token(client, otp_only)
    refused = challenge(client, otp_only, token_value)
    assert "sms" in assert_error(refused, "unauthorized_client", 400)["error_description"]
    assert outbox.messages() == [] and balance(app) == 100


def test_a_switched_off_sms_factor_is_not_offered_nor_usable(
    app: Flask, client: FlaskClient, web_app: RegisteredClient,
    sent: Callable[[], tuple[str, str, str]],
) -> None:
    token_value, oob_code, code = sent()
    configure(app, factors=["otp", "recovery-code"])
    off = oob_grant(client, web_app, token_value, oob_code, code)
    assert "switched off" in assert_error(off, "invalid_request", 400)["error_description"]
    assert_error(challenge(client, web_app, token_value), "invalid_request", 400)
