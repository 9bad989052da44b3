"""When MFA applies (README, API): policy required, MFA switched off, and no grant handing out
tokens for a user with MFA without the second factor."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.models import AuditEvent
from tests.conftest import (
    MFA_SCOPE,
    EnrolledUser,
    RegisteredClient,
    assert_error,
    bearer,
    enroll,
    mfa_grant,
    mfa_token,
    password_login,
    token,
    unverified,
)
from tests.support import TotpDevice


def test_policy_required_makes_a_new_user_enroll_during_login(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(policy="required")
    response = password_login(client, web_app, scope=MFA_SCOPE)
    body = assert_error(response, "mfa_required", 403)
    assert body["mfa_requirements"] == {"enroll": [
        {"type": "otp"}, {"type": "sms"}, {"type": "webauthn-platform"},
        {"type": "webauthn-roaming"}]}
    ticket = body["mfa_token"]
    associated = client.post("/mfa/associate", json={"type": "otp"}, headers=bearer(ticket))
    assert associated.status_code == 200, associated.get_json()
    assert len(associated.get_json()["recovery_codes"]) == 10
    device = TotpDevice(associated.get_json()["secret"])
    # the challenge during enrollment points at the pending authenticator
    challenge = client.post("/mfa/challenge", auth=web_app.basic,
                            data={"mfa_token": ticket, "challenge_type": "otp"})
    assert challenge.get_json() == {"challenge_type": "otp"}
    # a recovery code cannot stand in for the factor being enrolled
    codes = associated.get_json()["recovery_codes"]
    assert_error(mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=ticket,
                           recovery_code=codes[0]), "invalid_grant", 400)
    done = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=device.next_code())
    assert done.status_code == 200, done.get_json()
    assert unverified(done.get_json()["access_token"])[1]["amr"] == ["pwd", "otp", "mfa"]
    listed = client.get("/mfa/authenticators", headers=bearer(done.get_json()["access_token"]))
    assert listed.get_json()[0]["active"] is True
    with app.app_context():
        confirmed = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.type == "mfa.confirmed")).one()
    assert confirmed.detail["authenticator_id"] == associated.get_json()["id"]
    assert confirmed.ip == "127.0.0.1" and confirmed.client_id == web_app.client_id
    again = password_login(client, web_app)
    assert assert_error(again, "mfa_required", 403)["mfa_requirements"] == {
        "challenge": [{"type": "otp"}, {"type": "recovery-code"}]}


def test_under_policy_required_an_unconfirmed_enrollment_gives_no_tokens(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(policy="required")
    ticket = mfa_token(client, web_app)
    client.post("/mfa/associate", json={"type": "otp"}, headers=bearer(ticket))
    assert password_login(client, web_app).status_code == 403
    assert_error(mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp="123456"),
                 "invalid_grant", 400)


def test_mfa_switched_off_lets_passwords_alone_log_in(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(enabled=False)
    response = password_login(client, web_app)
    assert response.status_code == 200
    assert unverified(response.get_json()["access_token"])[1]["amr"] == ["pwd"]


def test_a_switched_off_factor_is_neither_offered_nor_accepted(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(factors=["otp"])
    body = assert_error(password_login(client, web_app), "mfa_required", 403)
    assert body["available_factors"] == ["otp"]
    refused = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=body["mfa_token"],
                        recovery_code=mfa_user.recovery_codes[0])
    assert "switched off" in assert_error(refused, "invalid_request", 400)["error_description"]


def test_no_grant_gives_tokens_to_a_user_with_mfa_without_the_second_factor(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    before = password_login(client, web_app).get_json()["refresh_token"]
    enroll(client, web_app)
    assert password_login(client, web_app).status_code == 403
    stale = token(client, {"grant_type": "refresh_token", "refresh_token": before},
                  auth=web_app.basic)
    assert "MFA" in assert_error(stale, "invalid_grant", 400)["error_description"]
    for kind, params in (("mfa-otp", {"otp": "123456"}),
                         ("mfa-recovery-code", {"recovery_code": "AAAA-AAAA-AAAA-AAAA"})):
        assert mfa_grant(client, web_app, kind, mfa_token="forged", **params).status_code == 400


def test_only_factors_the_client_can_finish_are_offered(
    client: FlaskClient, make_client: Any, mfa_user: EnrolledUser,
) -> None:
    codes_only = make_client(grant_types=["password", "mfa-recovery-code"])
    body = assert_error(password_login(client, codes_only), "mfa_required", 403)
    assert body["available_factors"] == ["recovery-code"]
    assert body["mfa_requirements"] == {"challenge": [{"type": "recovery-code"}]}
    no_mfa = make_client(grant_types=["password", "refresh_token"])
    refused = assert_error(password_login(client, no_mfa), "unauthorized_client", 400)
    assert "MFA grants" in refused["error_description"]


def test_audit_events_name_user_client_and_ip_but_no_code(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app)
    client.post("/mfa/challenge", auth=web_app.basic,
                data={"mfa_token": ticket, "challenge_type": "otp"})
    mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp="000000")
    mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=mfa_user.device.next_code())
    mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
              recovery_code=mfa_user.recovery_codes[0])
    with app.app_context():
        rows = list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)))
    kinds = [row.type for row in rows if row.type.startswith("mfa.")]
    assert kinds == [
        "mfa.enrolled", "mfa.confirmed", "mfa.required", "mfa.challenge", "mfa.verify.failure",
        "mfa.verify.success", "mfa.required", "mfa.recovery_code.used",
    ]
    for row in rows:
        if row.type.startswith("mfa."):
            assert row.user_id and row.client_id == web_app.client_id and row.ip == "127.0.0.1"
            assert row.created_at is not None
        text = repr(row.detail)
        assert mfa_user.device.secret not in text and ticket not in text
        assert not any(code in text for code in mfa_user.recovery_codes)
