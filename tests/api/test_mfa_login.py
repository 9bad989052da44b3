"""The MFA login (README, API): mfa_required, challenge, the mfa-otp and mfa-recovery-code grants,
and the tokens they give."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.conftest import (
    GRANT_URI,
    EnrolledUser,
    RegisteredClient,
    assert_error,
    mfa_grant,
    mfa_token,
    password_login,
    token,
    unverified,
)


def challenge(client: FlaskClient, app_client: RegisteredClient, **params: str) -> Any:
    return client.post("/mfa/challenge", data=params, auth=app_client.basic)


def test_a_user_with_an_authenticator_gets_mfa_required_instead_of_tokens(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    response = password_login(client, web_app)
    body = assert_error(response, "mfa_required", 403)
    assert body["error_description"] == "Multifactor authentication required"
    assert len(body["mfa_token"]) >= 43  # 256 bits, base64url
    assert body["mfa_requirements"] == {"challenge": [{"type": "otp"}, {"type": "recovery-code"}]}
    assert body["available_factors"] == ["otp", "recovery-code"]
    assert "access_token" not in body and "id_token" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_the_guide_flow_challenge_then_otp_gives_tokens_with_mfa_amr(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app)
    answer = challenge(client, web_app, mfa_token=ticket, challenge_type="otp")
    assert answer.status_code == 200 and answer.get_json() == {"challenge_type": "otp"}
    before = int(time.time())
    response = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                         otp=mfa_user.device.next_code())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) >= {"access_token", "id_token", "refresh_token", "expires_in", "scope"}
    for jwt_value in (body["access_token"], body["id_token"]):
        claims = unverified(jwt_value)[1]
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        assert claims["auth_time"] >= before
    assert response.headers["Cache-Control"] == "no-store"


def test_auth0_grant_uris_are_accepted(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    response = token(client, {
        "grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
        "mfa_token": mfa_token(client, web_app), "otp": mfa_user.device.next_code(),
    }, auth=web_app.basic)
    assert response.status_code == 200, response.get_json()


def test_the_mfa_token_keeps_the_scope_asked_for_at_the_password_step(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app, scope="openid email")
    body = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                     otp=mfa_user.device.next_code()).get_json()
    assert body["scope"] == "openid email"


def test_a_refresh_after_mfa_keeps_the_mfa_amr(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    body = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                     otp=mfa_user.device.next_code()).get_json()
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": body["refresh_token"]}, auth=web_app.basic)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert unverified(refreshed.get_json()["access_token"])[1]["amr"] == ["pwd", "otp", "mfa"]


def test_a_recovery_code_logs_in_once_and_says_how_many_are_left(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    code = mfa_user.recovery_codes[0]
    response = mfa_grant(client, web_app, "mfa-recovery-code",
                         mfa_token=mfa_token(client, web_app), recovery_code=code)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["recovery_codes_remaining"] == 9
    assert unverified(body["access_token"])[1]["amr"] == ["pwd", "mfa"]
    again = mfa_grant(client, web_app, "mfa-recovery-code",
                      mfa_token=mfa_token(client, web_app), recovery_code=code)
    assert_error(again, "invalid_grant", 400)


def test_recovery_codes_are_read_forgivingly(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    sloppy = mfa_user.recovery_codes[1].replace("-", " ").lower().replace("0", "o")
    response = mfa_grant(client, web_app, "mfa-recovery-code",
                         mfa_token=mfa_token(client, web_app), recovery_code=sloppy)
    assert response.status_code == 200, response.get_json()


def test_an_mfa_token_is_exchanged_once(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app)
    first = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                      otp=mfa_user.device.next_code())
    assert first.status_code == 200
    second = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=ticket,
                       recovery_code=mfa_user.recovery_codes[0])
    assert_error(second, "invalid_grant", 400)


def test_an_mfa_token_of_another_client_is_refused(
    client: FlaskClient, web_app: RegisteredClient, make_client: Any, mfa_user: EnrolledUser,
) -> None:
    other = make_client(name="Other app")
    ticket = mfa_token(client, web_app)
    response = mfa_grant(client, other, "mfa-otp", mfa_token=ticket,
                         otp=mfa_user.device.next_code())
    body = assert_error(response, "invalid_grant", 400)
    unknown = assert_error(mfa_grant(client, other, "mfa-otp", mfa_token="x" * 43, otp="123456"),
                           "invalid_grant", 400)
    assert body == unknown  # no oracle: another client's token reads as unknown
    assert_error(challenge(client, other, mfa_token=ticket, challenge_type="otp"),
                 "invalid_grant", 400)
    # the rightful client can still use it: a foreign attempt does not burn the token
    assert mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                     otp=mfa_user.device.used_code()).status_code == 200


def test_an_expired_mfa_token_answers_expired_token(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    with app.app_context():
        user = services.users.find_by_email("ann@example.org")
        ticket = services.mfa.tickets.issue(
            user_id=user.id, client_id=web_app.client_id, scope=("openid",), audience=(),
            purpose="challenge", ttl=1,
        )
    time.sleep(1.1)
    response = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                         otp=mfa_user.device.next_code())
    assert_error(response, "expired_token", 400)
    assert_error(challenge(client, web_app, mfa_token=ticket, challenge_type="otp"),
                 "expired_token", 400)


def test_a_code_is_accepted_once_and_never_an_older_one_after_a_newer(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    code = mfa_user.device.next_code()
    assert mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                     otp=code).status_code == 200
    replay = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                       otp=code)
    assert_error(replay, "invalid_grant", 400)
    # the confirmation used the step before: older than the last accepted, so refused too
    older = mfa_user.device.code_at(mfa_user.device.last_step - 1)
    assert_error(mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                           otp=older), "invalid_grant", 400)


BAD_GRANT_REQUESTS = [
    ("mfa-otp", {"otp": "123456"}, "invalid_request"),  # no mfa_token
    ("mfa-otp", {"mfa_token": "x"}, "invalid_request"),  # no otp
    ("mfa-otp", {"mfa_token": "x", "otp": "12345"}, "invalid_request"),
    ("mfa-otp", {"mfa_token": "x", "otp": "1234567"}, "invalid_request"),
    ("mfa-otp", {"mfa_token": "x", "otp": "123 456"}, "invalid_request"),
    ("mfa-otp", {"mfa_token": "x", "otp": "\uff11\uff12\uff13\uff14\uff15\uff16"},
     "invalid_request"),  # fullwidth digits are digits to Python, not to RFC 4226
    ("mfa-recovery-code", {"mfa_token": "x", "recovery_code": "too-short"}, "invalid_request"),
    ("mfa-otp", {"mfa_token": "unknown-token", "otp": "123456"}, "invalid_grant"),
    ("mfa-recovery-code", {"mfa_token": "unknown", "recovery_code": "AAAA-AAAA-AAAA-AAAA"},
     "invalid_grant"),
]


@pytest.mark.parametrize(("kind", "params", "error"), BAD_GRANT_REQUESTS)
def test_bad_mfa_grant_requests(
    client: FlaskClient, web_app: RegisteredClient, kind: str, params: dict[str, str], error: str,
) -> None:
    assert_error(mfa_grant(client, web_app, kind, **params), error, 400)


def test_a_client_without_the_mfa_grant_is_unauthorized(
    client: FlaskClient, make_client: Any, mfa_user: EnrolledUser,
) -> None:
    narrow = make_client(grant_types=["password"])
    response = mfa_grant(client, narrow, "mfa-otp", mfa_token="x", otp="123456")
    assert_error(response, "unauthorized_client", 400)


def test_discovery_lists_the_mfa_endpoints_and_grants(client: FlaskClient) -> None:
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["mfa_challenge_endpoint"].endswith("/mfa/challenge")
    assert meta["mfa_associate_endpoint"].endswith("/mfa/associate")
    assert meta["mfa_authenticators_endpoint"].endswith("/mfa/authenticators")
    assert meta["mfa_recovery_codes_endpoint"].endswith("/mfa/recovery-codes")
    for kind in ("mfa-otp", "mfa-recovery-code"):
        assert GRANT_URI + kind in meta["grant_types_supported"]
        assert f"http://auth0.com/oauth/grant-type/{kind}" in meta["grant_types_supported"]
    assert {"enroll", "read:authenticators", "remove:authenticators"} <= set(
        meta["scopes_supported"])
