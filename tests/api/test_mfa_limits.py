"""Attempt limits on second factors (NIST SP 800-63B §5.2.2), one request at a time.
The parallel versions run against ``protekt serve`` in tests/e2e/test_mfa_flow.py."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.mfa.settings import MfaSettings
from authserver.models import AuditEvent
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    access_token,
    assert_error,
    associate,
    bearer,
    confirm,
    enroll,
    mfa_grant,
    mfa_token,
)
from tests.support import TotpDevice


def wrong_code(device: TotpDevice) -> str:
    """A well-formed code no step near now produces."""
    assert device.last_step is not None
    near = {device.code_at(device.last_step + d) for d in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.type == kind)))


def test_five_wrong_codes_void_the_mfa_token(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app)
    for _ in range(5):
        assert_error(mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                               otp=wrong_code(mfa_user.device)), "invalid_grant", 400)
    refused = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                        otp=mfa_user.device.next_code())
    body = assert_error(refused, "too_many_attempts", 429)
    assert "Log in again" in body["error_description"]
    # No wait helps: Retry-After is the rest of the mfa_token's life, and the body says so.
    assert body["login_again"] is True
    assert 60 < int(refused.headers["Retry-After"]) <= MfaSettings().mfa_token_ttl
    # void everywhere: the MFA endpoints refuse it too
    listed = client.get("/mfa/authenticators", headers=bearer(ticket))
    assert_error(listed, "too_many_attempts", 429)
    assert_error(client.post("/mfa/challenge", auth=web_app.basic,
                             data={"mfa_token": ticket, "challenge_type": "otp"}),
                 "too_many_attempts", 429)
    # the refused code was never checked; with a new mfa_token it works (the user's limit is 10)
    fresh = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                      otp=mfa_user.device.used_code())
    assert fresh.status_code == 200
    assert len(events(app, "mfa.verify.failure")) == 5


def test_the_user_limit_spans_mfa_tokens_and_refuses_the_right_code(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    for _ in range(5):  # 2 mfa_tokens x 5 = the burst of 10
        ticket = mfa_token(client, web_app)
        for _ in range(2):
            mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=wrong_code(mfa_user.device))
    locked = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                       otp=mfa_user.device.next_code())
    body = assert_error(locked, "too_many_attempts", 429)
    assert "account" in body["error_description"]
    assert "login_again" not in body  # this one ends: Retry-After says when
    assert 300 < int(locked.headers["Retry-After"]) <= 361  # one failure drains in 6 minutes
    wrong = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                      otp=wrong_code(mfa_user.device))
    assert (wrong.status_code, wrong.get_json()["error"]) == (429, "too_many_attempts")
    recovery = mfa_grant(client, web_app, "mfa-recovery-code",
                         mfa_token=mfa_token(client, web_app),
                         recovery_code=mfa_user.recovery_codes[0])
    assert recovery.status_code == 429  # the limit is the user's, whatever the factor
    assert len(events(app, "mfa.verify.failure")) == 10
    assert len(events(app, "mfa.locked")) == 1


def test_an_operator_unlocks_the_second_factor(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_failure_burst=2)
    ticket = mfa_token(client, web_app)
    for _ in range(3):
        mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=wrong_code(mfa_user.device))
    assert mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                     otp=mfa_user.device.next_code()).status_code == 429
    with app.app_context():
        user = services.users.find_by_email("ann@example.org")
        services.mfa.verifier.unlock(user, services.mfa.settings.load())
    response = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                         otp=mfa_user.device.used_code())
    assert response.status_code == 200, response.get_json()


def test_consecutive_failures_lock_until_unlocked(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_max_consecutive_failures=3,
                                                user_failure_burst=100)
    for _ in range(3):
        mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                  otp=wrong_code(mfa_user.device))
    locked = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                       otp=mfa_user.device.next_code())
    body = assert_error(locked, "too_many_attempts", 429)
    assert "administrator" in body["error_description"]


def test_a_success_resets_the_consecutive_count_and_refunds_the_bucket(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_max_consecutive_failures=2,
                                                user_failure_burst=2)
    mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
              otp=wrong_code(mfa_user.device))
    ok = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                   otp=mfa_user.device.next_code())
    assert ok.status_code == 200
    # the success gave its unit back: one failure before it and one after fit a burst of 2
    after = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                      otp=wrong_code(mfa_user.device))
    assert_error(after, "invalid_grant", 400)
    full = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                     otp=wrong_code(mfa_user.device))
    assert_error(full, "too_many_attempts", 429)


def test_another_users_failures_do_not_count(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser, make_user: Any,
) -> None:
    make_user(email="bob@example.org")
    bob = enroll(client, web_app, username="bob@example.org")
    for _ in range(2):
        ticket = mfa_token(client, web_app, username="bob@example.org")
        for _ in range(5):
            mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=wrong_code(bob.device))
    ok = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                   otp=mfa_user.device.next_code())
    assert ok.status_code == 200


def test_confirming_an_authenticator_is_under_the_same_limits(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(user_failure_burst=2)
    bearer_token = access_token(client, web_app)
    body, device = associate(client, bearer_token)
    right = device.next_code()
    wrong = wrong_code(device)
    for _ in range(2):
        assert_error(confirm(client, bearer_token, body["id"], wrong), "invalid_grant", 400)
    assert_error(confirm(client, bearer_token, body["id"], right), "too_many_attempts", 429)
    assert len(events(app, "mfa.confirm.failure")) == 2
