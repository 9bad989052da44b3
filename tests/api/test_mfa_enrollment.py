"""Managing factors (README, API): associate, confirm, list, remove, recovery codes, and who may."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from authserver.models.base import utcnow
from authserver.tokens.issuer import Authentication, TokenRequest
from tests.conftest import (
    MFA_SCOPE,
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
    password_login,
    token,
)

RECOVERY_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")


def mfa_access_token(client: FlaskClient, app_client: RegisteredClient,
                     enrolled: EnrolledUser) -> str:
    """An access token whose amr holds mfa: password, then the authenticator app."""
    ticket = mfa_token(client, app_client, scope=MFA_SCOPE)
    response = mfa_grant(client, app_client, "mfa-otp", mfa_token=ticket,
                         otp=enrolled.device.next_code())
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def test_associate_returns_the_secret_uri_qr_code_and_recovery_codes(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    response = client.post("/mfa/associate", json={"type": "otp"},
                           headers=bearer(access_token(client, web_app)))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["authenticator_type"] == "otp"
    assert len(base64.b32decode(body["secret"])) == 20  # 160 bits, 32 characters, no padding
    uri = urlsplit(body["barcode_uri"])
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Protekt:ann@example.org")
    assert parse_qs(uri.query) == {
        "secret": [body["secret"]], "issuer": ["Protekt"], "algorithm": ["SHA1"],
        "digits": ["6"], "period": ["30"],
    }
    assert body["qr_code"].startswith("data:image/png;base64,")
    assert base64.b64decode(body["qr_code"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    codes = body["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE.fullmatch(code) for code in codes)  # 16 x 5 bits = 80 bits


def test_auth0_associate_body_is_accepted_and_secrets_differ(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    headers = bearer(access_token(client, web_app))
    first = client.post("/mfa/associate", json={"authenticator_types": ["otp"]}, headers=headers)
    second = client.post("/mfa/associate", data={"type": "otp"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["secret"] != second.get_json()["secret"]
    # until a first factor is active, each association brings a new set, voiding the last one
    assert not set(first.get_json()["recovery_codes"]) & set(second.get_json()["recovery_codes"])


def test_the_issuer_name_comes_from_the_settings(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    with app.app_context():
        services.flows.security_settings.update(totp_issuer="Acme Corp")
    body, _ = associate(client, access_token(client, web_app))
    assert body["barcode_uri"].startswith("otpauth://totp/Acme%20Corp:ann@example.org?")
    assert "issuer=Acme%20Corp" in body["barcode_uri"]


def test_a_pending_authenticator_changes_nothing_until_confirmed(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    bearer_token = access_token(client, web_app)
    body, device = associate(client, bearer_token)
    listed = client.get("/mfa/authenticators", headers=bearer(bearer_token)).get_json()
    assert [(a["id"], a["active"]) for a in listed if a["authenticator_type"] == "otp"] == [
        (body["id"], False)]
    assert password_login(client, web_app).status_code == 200  # still password only
    wrong = confirm(client, bearer_token, body["id"], "000000" if device.next_code() != "000000"
                    else "111111")
    assert_error(wrong, "invalid_grant", 400)
    right = confirm(client, bearer_token, body["id"], device.next_code())
    assert right.status_code == 200
    assert right.get_json() == {"id": body["id"], "authenticator_type": "otp", "active": True}
    assert password_login(client, web_app).status_code == 403


def test_the_listing_shows_names_dates_and_recovery_codes_left(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    listed = client.get("/mfa/authenticators",
                        headers=bearer(mfa_token(client, web_app))).get_json()
    app_entry, codes_entry = listed
    assert app_entry["id"] == mfa_user.authenticator_id
    assert app_entry["name"] == "Authenticator app" and app_entry["active"] is True
    assert app_entry["created_at"] and app_entry["last_used_at"]
    assert "secret" not in app_entry
    assert codes_entry == {"id": "recovery-code", "authenticator_type": "recovery-code",
                           "active": True, "remaining": 10}


def test_a_second_factor_needs_an_mfa_login(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    pwd_only = client.post("/mfa/associate", json={"type": "otp"},
                           headers=bearer(mfa_token(client, web_app)))
    assert_error(pwd_only, "mfa_required", 403)
    strong = mfa_access_token(client, web_app, mfa_user)
    response = client.post("/mfa/associate", json={"type": "otp", "name": "Backup phone"},
                           headers=bearer(strong))
    assert response.status_code == 200
    assert "recovery_codes" not in response.get_json()
    device_id = response.get_json()["id"]
    names = [a.get("name") for a in client.get("/mfa/authenticators",
                                                headers=bearer(strong)).get_json()]
    assert "Backup phone" in names
    assert device_id


def test_a_password_only_access_token_cannot_change_factors_once_mfa_is_on(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    pwd_only = access_token(client, web_app)  # taken before the first factor is active
    enrolled = enroll(client, web_app)
    for response in (
        client.post("/mfa/associate", json={"type": "otp"}, headers=bearer(pwd_only)),
        client.delete(f"/mfa/authenticators/{enrolled.authenticator_id}",
                      headers=bearer(pwd_only)),
        client.post("/mfa/recovery-codes", headers=bearer(pwd_only)),
    ):
        body = assert_error(response, "mfa_required", 403)
        assert "mfa_token" not in body
    listed = client.get("/mfa/authenticators", headers=bearer(pwd_only))
    assert listed.status_code == 200  # reading needs no second factor


def test_removing_the_last_authenticator_turns_mfa_off_and_voids_recovery_codes(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    strong = mfa_access_token(client, web_app, mfa_user)
    response = client.delete(f"/mfa/authenticators/{mfa_user.authenticator_id}",
                             headers=bearer(strong))
    assert response.status_code == 204 and response.data == b""
    assert password_login(client, web_app).status_code == 200
    listed = client.get("/mfa/authenticators", headers=bearer(strong)).get_json()
    assert listed == []
    again = client.delete(f"/mfa/authenticators/{mfa_user.authenticator_id}",
                          headers=bearer(strong))
    assert_error(again, "not_found", 404)


def test_new_recovery_codes_void_the_old_set(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    strong = mfa_access_token(client, web_app, mfa_user)
    response = client.post("/mfa/recovery-codes", headers=bearer(strong))
    assert response.status_code == 200
    fresh = response.get_json()["recovery_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(mfa_user.recovery_codes)
    old = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
                    recovery_code=mfa_user.recovery_codes[0])
    assert_error(old, "invalid_grant", 400)
    new = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
                    recovery_code=fresh[0])
    assert new.status_code == 200


def test_another_users_authenticator_is_not_found(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser, make_user: Any,
) -> None:
    make_user(email="bob@example.org")
    response = password_login(client, web_app, username="bob@example.org",
                              scope="openid remove:authenticators enroll")
    bobs = response.get_json()["access_token"]
    assert_error(client.delete(f"/mfa/authenticators/{mfa_user.authenticator_id}",
                               headers=bearer(bobs)), "not_found", 404)
    assert_error(confirm(client, bobs, mfa_user.authenticator_id, "123456"), "not_found", 404)


SCOPE_CASES = [
    ("openid", "get", "/mfa/authenticators", None),
    ("openid read:authenticators", "post", "/mfa/associate", {"type": "otp"}),
    ("openid enroll", "delete", "/mfa/authenticators/some-id", None),
    ("openid read:authenticators", "post", "/mfa/recovery-codes", None),
]


@pytest.mark.parametrize("case", SCOPE_CASES)
def test_each_operation_needs_its_scope(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
    case: tuple[str, str, str, dict[str, str] | None],
) -> None:
    scope, method, path, body = case
    headers = bearer(access_token(client, web_app, scope=scope))
    response = getattr(client, method)(path, json=body, headers=headers)
    assert_error(response, "insufficient_scope", 403)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


def test_an_mfa_token_may_not_remove_confirm_or_regenerate(
    client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    headers = bearer(mfa_token(client, web_app))
    for response in (
        client.delete(f"/mfa/authenticators/{mfa_user.authenticator_id}", headers=headers),
        client.post(f"/mfa/authenticators/{mfa_user.authenticator_id}/confirm",
                    json={"otp": "123456"}, headers=headers),
        client.post("/mfa/recovery-codes", headers=headers),
    ):
        assert_error(response, "insufficient_scope", 403)


BAD_BEARERS = [
    ({}, "invalid_token", 401),
    ({"Authorization": "Bearer not-a-token"}, "invalid_token", 401),
    ({"Authorization": "Bearer a.b.c"}, "invalid_token", 401),
]


@pytest.mark.parametrize(("headers", "error", "status"), BAD_BEARERS)
def test_a_missing_or_bad_bearer_token_is_refused(
    client: FlaskClient, headers: dict[str, str], error: str, status: int,
) -> None:
    for response in (client.get("/mfa/authenticators", headers=headers),
                     client.post("/mfa/associate", json={"type": "otp"}, headers=headers)):
        assert_error(response, error, status)


def test_a_client_credentials_token_is_not_a_user(
    client: FlaskClient, make_client: Any,
) -> None:
    machine = make_client(grant_types=["client_credentials"])
    response = token(client, {"grant_type": "client_credentials"}, auth=machine.basic)
    headers = bearer(response.get_json()["access_token"])
    assert_error(client.get("/mfa/authenticators", headers=headers), "invalid_token", 401)


BAD_ASSOCIATE_BODIES = [
    {"type": "push"},
    {},
    {"type": "otp", "authenticator_types": ["otp"]},
    {"authenticator_types": ["webauthn"]},
    {"authenticator_types": ["oob"], "oob_channels": ["email"]},
    {"type": 1},
    {"type": "otp", "name": ""},
    {"type": "otp", "name": "x" * 101},
]


@pytest.mark.parametrize("body", BAD_ASSOCIATE_BODIES)
def test_bad_associate_bodies(
    client: FlaskClient, web_app: RegisteredClient, user: Any, body: dict[str, Any],
) -> None:
    response = client.post("/mfa/associate", json=body,
                           headers=bearer(access_token(client, web_app)))
    assert_error(response, "invalid_request", 400)


def test_a_switched_off_factor_cannot_be_enrolled(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    headers = bearer(access_token(client, web_app))
    with app.app_context():
        services.flows.security_settings.update(factors=["otp", "recovery-code"])
    sms = client.post("/mfa/associate", json={"type": "sms", "phone_number": "+14155552671"},
                      headers=headers)
    assert "sms factor is switched off" in assert_error(sms, "invalid_request", 400)[
        "error_description"]
    with app.app_context():
        services.flows.security_settings.update(enabled=False)
    off = client.post("/mfa/associate", json={"type": "otp"}, headers=headers)
    assert "switched off" in assert_error(off, "invalid_request", 400)["error_description"]


def test_confirm_needs_six_digits_and_then_changes_need_mfa(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    bearer_token = access_token(client, web_app)
    body, device = associate(client, bearer_token)
    assert_error(confirm(client, bearer_token, body["id"], "12345"), "invalid_request", 400)
    assert confirm(client, bearer_token, body["id"], device.next_code()).status_code == 200
    # now active: the same password-only token may not confirm anything more
    assert_error(confirm(client, bearer_token, body["id"], device.next_code()),
                 "mfa_required", 403)


def test_a_token_also_meant_for_another_api_cannot_manage_factors(
    app: Flask, client: FlaskClient, user: Any, make_client: Any,
) -> None:
    """As minted before the password grant refused factor scopes with an audience."""
    api_client = make_client(audiences=["https://api.example.com"])
    with app.app_context():
        authn = Authentication(services.users.get(user.id), ("pwd",), utcnow())
        request = TokenRequest(services.clients.find(api_client.client_id),
                               ("openid", "read:authenticators"), ("https://api.example.com",))
        token = services.issuer.issue(authn, request).body["access_token"]
    response = client.get("/mfa/authenticators", headers=bearer(token))
    body = assert_error(response, "invalid_token", 401)
    assert "also for another API" in body["error_description"]
