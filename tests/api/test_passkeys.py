"""Passkeys through the API (README, Passkeys): enrollment at /mfa/associate and /confirm, the
``webauthn`` challenge and the mfa-webauthn grant, the passwordless /passkey/challenge and passkey
grant; and every way a WebAuthn answer can be wrong, with a software authenticator
(tests/softkey.py) playing the browser and the device."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from authserver.models import AuditEvent, Authenticator
from authserver.tokens.claims import PHISHING_RESISTANT_ACR
from tests.conftest import (
    GRANT_URI,
    RegisteredClient,
    access_token,
    assert_error,
    bearer,
    mfa_grant,
    mfa_token,
    token,
    unverified,
)
from tests.softkey import SoftKey, b64url

ISSUER = "http://localhost:8000"
RP_ID = "localhost"


@pytest.fixture
def app(make_app: Any) -> Flask:
    """The server at http://localhost:8000: WebAuthn refuses IP addresses as RP IDs."""
    return make_app(PROTEKT_ISSUER=ISSUER)


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def new_key(**knobs: Any) -> SoftKey:
    return SoftKey(rp_id=RP_ID, origin=ISSUER, **knobs)


def associate(client: FlaskClient, bearer_token: str, kind: str = "webauthn-platform",
              **extra: Any) -> dict[str, Any]:
    response = client.post("/mfa/associate", json={"authenticator_types": [kind], **extra},
                           headers=bearer(bearer_token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def confirm(client: FlaskClient, bearer_token: str, authenticator_id: str,
            credential: Any) -> Any:
    return client.post(f"/mfa/authenticators/{authenticator_id}/confirm",
                       json={"credential": credential}, headers=bearer(bearer_token))


@dataclass
class Enrolled:
    """A passkey enrolled through the API, and what its enrollment answered."""

    key: SoftKey
    id: str
    recovery_codes: list[str]


def enroll_passkey(client: FlaskClient, app_client: RegisteredClient, key: SoftKey,
                   kind: str = "webauthn-platform") -> Enrolled:
    """Enroll with a password-only access token (the user's first factor)."""
    bearer_token = access_token(client, app_client)
    body = associate(client, bearer_token, kind)
    confirmed = confirm(client, bearer_token, body["id"], key.register(body["options"]))
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json() == {"id": body["id"], "authenticator_type": kind, "active": True}
    return Enrolled(key, body["id"], body["recovery_codes"])


def webauthn_challenge(client: FlaskClient, app_client: RegisteredClient,
                       ticket: str) -> dict[str, Any]:
    response = client.post("/mfa/challenge", data={"mfa_token": ticket,
                                                   "challenge_type": "webauthn"},
                           auth=app_client.basic)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def second_factor(client: FlaskClient, app_client: RegisteredClient, ticket: str,
                  credential: Any) -> Any:
    return mfa_grant(client, app_client, "mfa-webauthn", mfa_token=ticket,
                     credential=json.dumps(credential))


def passkey_challenge(client: FlaskClient, app_client: RegisteredClient) -> dict[str, Any]:
    response = client.post("/passkey/challenge", auth=app_client.basic)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def passkey_grant(client: FlaskClient, app_client: RegisteredClient, session: str,
                  credential: Any) -> Any:
    return token(client, {"grant_type": GRANT_URI + "passkey", "passkey_session": session,
                          "credential": json.dumps(credential)}, auth=app_client.basic)


@pytest.fixture
def passkey(client: FlaskClient, web_app: RegisteredClient, user: Any) -> Enrolled:
    """Ann's platform passkey, enrolled."""
    return enroll_passkey(client, web_app, new_key())


@pytest.fixture
def key(passkey: Enrolled) -> SoftKey:
    return passkey.key


# enrollment ----------------------------------------------------------------------------------

def test_associate_answers_creation_options_for_the_issuer_host(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    body = associate(client, access_token(client, web_app))
    assert body["authenticator_type"] == "webauthn-platform" and set(body) == {
        "id", "authenticator_type", "options", "recovery_codes"}
    options = body["options"]
    assert options["rp"]["id"] == RP_ID
    assert options["user"]["name"] == "ann@example.org"
    assert len(options["challenge"]) >= 43  # 32 bytes, base64url
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"] == {
        "authenticatorAttachment": "platform", "residentKey": "required",
        "requireResidentKey": True, "userVerification": "preferred"}


def test_a_security_key_is_not_asked_for_a_resident_key(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    options = associate(client, access_token(client, web_app), "webauthn-roaming")["options"]
    assert options["authenticatorSelection"]["authenticatorAttachment"] == "cross-platform"
    assert options["authenticatorSelection"]["residentKey"] == "discouraged"


def test_the_guide_form_type_enrolls_a_passkey_too(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    response = client.post("/mfa/associate", json={"type": "webauthn-roaming"},
                           headers=bearer(access_token(client, web_app)))
    assert response.status_code == 200
    assert response.get_json()["authenticator_type"] == "webauthn-roaming"


def test_a_confirmed_passkey_is_listed_with_its_flags(
    client: FlaskClient, web_app: RegisteredClient, passkey: Enrolled,
) -> None:
    listed = client.get("/mfa/authenticators",
                        headers=bearer(mfa_token(client, web_app))).get_json()
    assert listed[0] == {
        "id": passkey.id, "authenticator_type": "webauthn-platform",
        "name": "Passkey", "active": True, "created_at": listed[0]["created_at"],
        "last_used_at": None, "backup_eligible": False, "backed_up": False,
        "aaguid": "00000000-0000-0000-0000-000000000000", "model": None,
        "transports": ["internal"]}


def test_a_known_aaguid_names_the_authenticator(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    yubikey = new_key(aaguid=bytes.fromhex("ee882879721c491397753dfcce97072a"))
    enroll_passkey(client, web_app, yubikey, "webauthn-roaming")
    listed = client.get("/mfa/authenticators",
                        headers=bearer(mfa_token(client, web_app))).get_json()
    assert listed[0]["model"] == "YubiKey 5 Series"


def test_a_registration_challenge_answers_once(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    bearer_token = access_token(client, web_app)
    body = associate(client, bearer_token)
    key = new_key()
    wrong_site = key.register(body["options"], origin="https://evil.example")
    assert confirm(client, bearer_token, body["id"], wrong_site).status_code == 400
    refused = confirm(client, bearer_token, body["id"], key.register(body["options"]))
    assert "already answered" in assert_error(refused, "invalid_grant", 400)["error_description"]


# (the key's knobs, what the browser side changes, what the refusal says)
Refusal = tuple[dict[str, Any], dict[str, Any], str]
REGISTRATION_REFUSALS: dict[str, Refusal] = {
    "wrong origin": ({}, {"origin": "https://evil.example"}, "origin"),
    "wrong RP ID": ({}, {"rp_id": "evil.example"}, "RP ID hash"),
    "an algorithm we do not accept": ({"alg": -35}, {}, "Unsupported"),
}


@pytest.mark.parametrize("refusal", REGISTRATION_REFUSALS.values(),
                         ids=REGISTRATION_REFUSALS.keys())
def test_a_registration_that_does_not_verify_is_refused_and_nothing_is_kept(
    client: FlaskClient, web_app: RegisteredClient, user: Any, app: Flask, refusal: Refusal,
) -> None:
    knobs, client_side, said = refusal
    bearer_token = access_token(client, web_app)
    body = associate(client, bearer_token)
    refused = confirm(client, bearer_token, body["id"],
                      new_key(**knobs).register(body["options"], **client_side))
    assert said in assert_error(refused, "invalid_grant", 400)["error_description"]
    with app.app_context():
        pending = services.session.get(Authenticator, body["id"])
        assert pending is not None and not pending.active and pending.credential_id is None


def test_a_registration_with_the_challenge_of_another_enrollment_is_refused(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    bearer_token = access_token(client, web_app)
    first = associate(client, bearer_token)
    second = associate(client, bearer_token, "webauthn-roaming")
    refused = confirm(client, bearer_token, second["id"], new_key().register(first["options"]))
    assert "challenge" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_uv_is_required_at_enrollment_when_the_settings_say_so(
    client: FlaskClient, web_app: RegisteredClient, user: Any, app: Flask,
) -> None:
    configure(app, webauthn_user_verification="required")
    bearer_token = access_token(client, web_app)
    body = associate(client, bearer_token)
    assert body["options"]["authenticatorSelection"]["userVerification"] == "required"
    refused = confirm(client, bearer_token, body["id"],
                      new_key(user_verified=False).register(body["options"]))
    assert "verif" in assert_error(refused, "invalid_grant", 400)["error_description"]


MALFORMED = [
    ("not JSON", "{not json"),
    ("not an object", "[1, 2]"),
    ("no response", json.dumps({"id": "AA", "rawId": "AA", "type": "public-key"})),
    ("nested past the parser's depth", "[" * 3000 + "]" * 3000),
    ("attestation object not CBOR", None),
]


@pytest.mark.parametrize(("case", "credential"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_registration_is_a_clear_400(
    client: FlaskClient, web_app: RegisteredClient, user: Any, case: str, credential: str | None,
) -> None:
    bearer_token = access_token(client, web_app)
    body = associate(client, bearer_token)
    if credential is None:
        registration = new_key().register(body["options"])
        registration["response"]["attestationObject"] = b64url(b"\xff\x00 not cbor")
        response = confirm(client, bearer_token, body["id"], registration)
        assert_error(response, "invalid_grant", 400)
        return
    assert_error(confirm(client, bearer_token, body["id"], credential), "invalid_request", 400)


def test_passkeys_switched_off_cannot_be_enrolled(
    client: FlaskClient, web_app: RegisteredClient, user: Any, app: Flask,
) -> None:
    configure(app, factors=["otp", "sms", "recovery-code"])
    response = client.post("/mfa/associate", json={"authenticator_types": ["webauthn-platform"]},
                           headers=bearer(access_token(client, web_app)))
    assert "switched off" in assert_error(response, "invalid_request", 400)["error_description"]


# as the second factor -------------------------------------------------------------------------

def test_the_password_login_offers_the_passkey_and_the_grant_gives_phishing_resistant_tokens(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    login = client.post("/oauth/token", data={
        "grant_type": "password", "username": "ann@example.org",
        "password": "correct horse battery"}, auth=web_app.basic).get_json()
    assert login["available_factors"] == ["webauthn-platform", "recovery-code"]
    challenge = webauthn_challenge(client, web_app, login["mfa_token"])
    assert challenge["challenge_type"] == "webauthn"
    options = challenge["options"]
    assert options["rpId"] == RP_ID and options["userVerification"] == "preferred"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)]
    response = second_factor(client, web_app, login["mfa_token"], key.assert_(options))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    for jwt_value in (body["access_token"], body["id_token"]):
        assert unverified(jwt_value)[1]["amr"] == ["pwd", "hwk", "mfa"]
    assert unverified(body["id_token"])[1]["acr"] == PHISHING_RESISTANT_ACR


def test_a_synced_passkey_gives_swk(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    key = new_key(synced=True)
    enroll_passkey(client, web_app, key)
    ticket = mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, ticket)["options"]
    body = second_factor(client, web_app, ticket, key.assert_(options)).get_json()
    assert unverified(body["access_token"])[1]["amr"] == ["pwd", "swk", "mfa"]


ASSERTION_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "wrong origin": ({"origin": "https://login.evil.example"}, "origin"),
    "wrong RP ID hash": ({"rp_id": "evil.example"}, "RP ID hash"),
}


@pytest.mark.parametrize("refusal", ASSERTION_REFUSALS.values(), ids=ASSERTION_REFUSALS.keys())
def test_an_assertion_for_another_site_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
    refusal: tuple[dict[str, Any], str],
) -> None:
    client_side, said = refusal
    ticket = mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, ticket)["options"]
    refused = second_factor(client, web_app, ticket, key.assert_(options, **client_side))
    assert said in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_an_assertion_made_for_another_login_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    first, second = mfa_token(client, web_app), mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, first)["options"]
    webauthn_challenge(client, web_app, second)
    refused = second_factor(client, web_app, second, key.assert_(options))
    assert "challenge" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_a_replayed_assertion_finds_its_challenge_spent(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    ticket = mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, ticket)["options"]
    assertion = key.assert_(options)
    wrong_site = key.assert_(options, origin="https://evil.example")
    assert second_factor(client, web_app, ticket, wrong_site).status_code == 400
    refused = second_factor(client, web_app, ticket, assertion)  # the challenge is spent
    assert "already answered" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_an_assertion_answers_one_login_only(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    ticket = mfa_token(client, web_app)
    assertion = key.assert_(webauthn_challenge(client, web_app, ticket)["options"])
    assert second_factor(client, web_app, ticket, assertion).status_code == 200
    other = mfa_token(client, web_app)
    webauthn_challenge(client, web_app, other)
    assert_error(second_factor(client, web_app, other, assertion), "invalid_grant", 400)


def test_a_credential_of_another_user_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, make_user: Any,
) -> None:
    make_user("bob@example.org")
    bob_key = new_key()
    bob_token = access_token(client, web_app, username="bob@example.org")
    body = associate(client, bob_token)
    assert confirm(client, bob_token, body["id"], bob_key.register(body["options"])
                   ).status_code == 200
    ticket = mfa_token(client, web_app)  # Ann's login
    options = webauthn_challenge(client, web_app, ticket)["options"]
    refused = second_factor(client, web_app, ticket, bob_key.assert_(options))
    assert "not enrolled" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_uv_missing_is_refused_when_required(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, app: Flask,
) -> None:
    configure(app, webauthn_user_verification="required")
    key.user_verified = False
    ticket = mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, ticket)["options"]
    assert options["userVerification"] == "required"
    refused = second_factor(client, web_app, ticket, key.assert_(options))
    assert "verif" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_a_counter_that_goes_back_is_refused_and_audited_as_a_clone(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, app: Flask,
) -> None:
    key.count_step = 5
    for expected in (200, 400):
        if expected == 400:
            key.sign_count, key.count_step = 0, 2  # a copy of the key that signed less often
        ticket = mfa_token(client, web_app)
        options = webauthn_challenge(client, web_app, ticket)["options"]
        response = second_factor(client, web_app, ticket, key.assert_(options))
        assert response.status_code == expected, response.get_json()
    assert "cloned" in response.get_json()["error_description"]
    with app.app_context():
        failures = [e.detail for e in services.session.query(AuditEvent)
                    .filter_by(type="mfa.verify.failure")]
    assert failures[-1]["reason"] == "cloned_authenticator"


def test_a_counter_kept_at_zero_is_accepted_every_time(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    for _ in range(2):
        ticket = mfa_token(client, web_app)
        options = webauthn_challenge(client, web_app, ticket)["options"]
        assert second_factor(client, web_app, ticket, key.assert_(options)).status_code == 200


@pytest.mark.parametrize("credential", ["{not json", json.dumps({"type": "public-key"}), "[]",
                                        "[" * 3000 + "]" * 3000])
def test_a_malformed_assertion_is_a_clear_400_and_costs_no_attempt(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, credential: str,
) -> None:
    ticket = mfa_token(client, web_app)
    options = webauthn_challenge(client, web_app, ticket)["options"]
    response = mfa_grant(client, web_app, "mfa-webauthn", mfa_token=ticket, credential=credential)
    assert "AuthenticationResponseJSON" in assert_error(
        response, "invalid_request", 400)["error_description"]
    assert second_factor(client, web_app, ticket, key.assert_(options)).status_code == 200


def test_malformed_authenticator_data_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    ticket = mfa_token(client, web_app)
    assertion = key.assert_(webauthn_challenge(client, web_app, ticket)["options"])
    assertion["response"]["authenticatorData"] = b64url(b"\x01\x02short")
    assert_error(second_factor(client, web_app, ticket, assertion), "invalid_grant", 400)


def test_wrong_assertions_count_against_the_mfa_token(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    ticket = mfa_token(client, web_app)
    for _ in range(5):
        options = webauthn_challenge(client, web_app, ticket)["options"]
        second_factor(client, web_app, ticket, key.assert_(options, origin="https://evil.example"))
    assert_error(client.post("/mfa/challenge", data={"mfa_token": ticket,
                                                    "challenge_type": "webauthn"},
                             auth=web_app.basic), "too_many_attempts", 429)


# passwordless -------------------------------------------------------------------------------

def test_a_passkey_signs_in_without_a_password(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    started = passkey_challenge(client, web_app)
    assert set(started) == {"passkey_session", "options", "expires_in"}
    assert started["options"]["userVerification"] == "required"
    assert started["options"]["allowCredentials"] == []
    response = passkey_grant(client, web_app, started["passkey_session"],
                             key.assert_(started["options"]))
    assert response.status_code == 200, response.get_json()
    claims = unverified(response.get_json()["id_token"])[1]
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["acr"] == PHISHING_RESISTANT_ACR


def test_a_passwordless_sign_in_without_uv_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    key.user_verified = False
    started = passkey_challenge(client, web_app)
    refused = passkey_grant(client, web_app, started["passkey_session"],
                            key.assert_(started["options"]))
    assert "verif" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_a_passkey_session_answers_once(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    started = passkey_challenge(client, web_app)
    assertion = key.assert_(started["options"])
    assert passkey_grant(client, web_app, started["passkey_session"], assertion).status_code == 200
    again = passkey_grant(client, web_app, started["passkey_session"], assertion)
    assert_error(again, "invalid_grant", 400)


def test_a_passkey_session_is_the_clients_own(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, make_client: Any,
) -> None:
    other = make_client(name="Other app")
    started = passkey_challenge(client, web_app)
    refused = passkey_grant(client, other, started["passkey_session"],
                            key.assert_(started["options"]))
    assert_error(refused, "invalid_grant", 400)


def test_a_user_handle_that_names_someone_else_is_refused(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey,
) -> None:
    key.user_handle = b"someone-else"
    started = passkey_challenge(client, web_app)
    refused = passkey_grant(client, web_app, started["passkey_session"],
                            key.assert_(started["options"]))
    assert "not enrolled" in assert_error(refused, "invalid_grant", 400)["error_description"]


def test_when_a_passkey_does_not_count_as_mfa_a_second_factor_is_asked(
    client: FlaskClient, web_app: RegisteredClient, passkey: Enrolled, app: Flask,
) -> None:
    configure(app, passkey_counts_as_mfa=False)
    started = passkey_challenge(client, web_app)
    response = passkey_grant(client, web_app, started["passkey_session"],
                             passkey.key.assert_(started["options"]))
    body = assert_error(response, "mfa_required", 403)
    assert body["available_factors"] == ["recovery-code"]  # not the same passkey again
    finished = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=body["mfa_token"],
                         recovery_code=passkey.recovery_codes[0])
    assert unverified(finished.get_json()["access_token"])[1]["amr"] == ["hwk", "user", "mfa"]


def test_a_client_without_the_passkey_grant_gets_no_challenge(
    client: FlaskClient, make_client: Any, key: SoftKey,
) -> None:
    narrow = make_client(name="Password only", grant_types=["password"])
    response = client.post("/passkey/challenge", auth=narrow.basic)
    assert_error(response, "unauthorized_client", 400)


def test_passkeys_switched_off_refuse_the_passwordless_sign_in(
    client: FlaskClient, web_app: RegisteredClient, key: SoftKey, app: Flask,
) -> None:
    started = passkey_challenge(client, web_app)
    configure(app, factors=["otp", "recovery-code"])
    response = passkey_grant(client, web_app, started["passkey_session"],
                             key.assert_(started["options"]))
    assert_error(response, "invalid_request", 400)
    assert_error(client.post("/passkey/challenge", auth=web_app.basic), "invalid_request", 400)
