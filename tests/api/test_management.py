"""The management API (README, API): MFA settings, SMS credits, users (changing, blocking, their
authenticators and consents), clients, the audit trail and the OpenAPI document, for machine
clients' client_credentials tokens, each call behind its own scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from authserver.extensions import db, services
from authserver.scopes import MANAGEMENT_SCOPES
from tests.api.test_password_grant import ISSUER
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
)
from tests.support import Outbox

API = f"{ISSUER}/api/v2/"
ALL_SCOPES = ("read:settings update:settings read:sms_credits update:sms_credits read:users "
              "create:users update:users delete:users delete:authenticators read:clients "
              "create:clients update:clients delete:clients read:audit read:groups "
              "update:groups")
CALLS = [  # (method, path, body, the scope it needs); {user} is an existing user's id,
    # {authenticator} the id of that user's authenticator app, {client} a client the user gave
    # consent to
    ("GET", "/api/v2/mfa/settings", None, "read:settings"),
    ("PATCH", "/api/v2/mfa/settings", {"totp_issuer": "Acme"}, "update:settings"),
    ("GET", "/api/v2/sms/credits", None, "read:sms_credits"),
    ("POST", "/api/v2/sms/credits", {"add": 5}, "update:sms_credits"),
    ("GET", "/api/v2/users?q=ann", None, "read:users"),
    ("POST", "/api/v2/users", {"email": "new@example.org", "password": "long enough pw"},
     "create:users"),
    ("GET", "/api/v2/users/{user}", None, "read:users"),
    ("PATCH", "/api/v2/users/{user}", {"email_verified": True}, "update:users"),
    ("GET", "/api/v2/users/{user}/authenticators", None, "read:users"),
    ("DELETE", "/api/v2/users/{user}/authenticators/{authenticator}", None,
     "delete:authenticators"),
    ("DELETE", "/api/v2/users/{user}/authenticators", None, "delete:authenticators"),
    ("GET", "/api/v2/users/{user}/consents", None, "read:users"),
    ("DELETE", "/api/v2/users/{user}/consents/{client}", None, "update:users"),
    ("DELETE", "/api/v2/users/{user}", None, "delete:users"),
    ("GET", "/api/v2/clients", None, "read:clients"),
    ("POST", "/api/v2/clients", {"name": "Shop"}, "create:clients"),
    ("GET", "/api/v2/clients/{client}", None, "read:clients"),
    ("PATCH", "/api/v2/clients/{client}", {"grant_types": ["password"]}, "update:clients"),
    ("PATCH", "/api/v2/clients/{client}", {"redirect_uris": ["https://shop.example/cb"],
                                           "first_party": False}, "update:clients"),
    ("POST", "/api/v2/clients/{client}/rotate-secret", None, "update:clients"),
    ("DELETE", "/api/v2/clients/{client}", None, "delete:clients"),
    ("GET", "/api/v2/audit-events?type=login.success", None, "read:audit"),
]
SUCCESS = {"POST /api/v2/users": 201, "DELETE /api/v2/users/{user}": 204,
           "DELETE /api/v2/users/{user}/authenticators/{authenticator}": 204,
           "DELETE /api/v2/users/{user}/consents/{client}": 204,
           "POST /api/v2/clients": 201, "DELETE /api/v2/clients/{client}": 204}


@pytest.fixture
def machine(make_client: Callable[..., RegisteredClient]) -> RegisteredClient:
    return make_client(name="Ops", grant_types=["client_credentials"],
                       scopes=ALL_SCOPES.split(), audiences=[API])


def management_token(client: FlaskClient, machine: RegisteredClient,
                     scope: str = ALL_SCOPES) -> str:
    response = token(client, {"grant_type": "client_credentials", "audience": API,
                              "scope": scope}, auth=machine.basic)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def call(client: FlaskClient, method: str, path: str, access_token: str,
         body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers=bearer(access_token))


def give_consent(app: Flask, user_id: str, client_id: str, scopes: tuple[str, ...] = (
        "openid", "profile")) -> None:
    """The user allows the client these scopes, as on the hosted consent page."""
    with app.app_context():
        services.consents.grant(user_id, client_id, scopes)
        db.session.commit()


Endpoint = tuple[str, str, Any, str]


@pytest.mark.parametrize("endpoint", CALLS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_call_needs_its_scope(app: Flask, client: FlaskClient, user: Any,
                                   machine: RegisteredClient, web_app: RegisteredClient, *,
                                   endpoint: Endpoint, request: pytest.FixtureRequest) -> None:
    method, template, body, scope = endpoint
    give_consent(app, user.id, web_app.client_id)
    enrolled = request.getfixturevalue("mfa_user") if "{authenticator}" in template else None
    path = template.format(user=user.id, client=web_app.client_id,
                           authenticator=enrolled and enrolled.authenticator_id)
    others = " ".join(name for name in ALL_SCOPES.split() if name != scope)
    refused = call(client, method, path, management_token(client, machine, others), body)
    assert_error(refused, "insufficient_scope", 403)
    allowed = call(client, method, path, management_token(client, machine, scope), body)
    assert allowed.status_code == SUCCESS.get(f"{method} {template}", 200), allowed.get_json()
    assert allowed.status_code == 204 or allowed.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("endpoint", CALLS, ids=lambda e: f"{e[0]} {e[1]}")
def test_no_token_or_a_users_token_is_refused(
    client: FlaskClient, user: Any, make_client: Callable[..., RegisteredClient],
    endpoint: Endpoint,
) -> None:
    method, template, body, scope = endpoint
    path = template.format(user=user.id, client="some-client", authenticator="some-factor")
    assert_error(client.open(path, method=method, json=body), "invalid_token", 401)
    web = make_client(scopes=ALL_SCOPES.split(), audiences=[API])
    users = password_login(client, web, audience=API, scope=scope)
    assert_error(users, "invalid_scope", 400)  # management scopes never go to a user's login
    own = password_login(client, web).get_json()["access_token"]
    assert_error(call(client, method, path, own, body), "invalid_token", 401)  # aud: not the API


def test_settings_changes_apply_to_the_next_login(client: FlaskClient, user: Any,
                                                  machine: RegisteredClient,
                                                  web_app: RegisteredClient) -> None:
    enroll(client, web_app)
    ops = management_token(client, machine)
    assert password_login(client, web_app).status_code == 403  # mfa_required
    changed = call(client, "PATCH", "/api/v2/mfa/settings", ops,
                   {"factors": ["otp", "recovery-code"], "totp_issuer": "Acme"})
    assert changed.get_json()["factors"] == ["otp", "recovery-code"]
    assert call(client, "GET", "/api/v2/mfa/settings", ops).get_json()["totp_issuer"] == "Acme"
    switched_off = call(client, "PATCH", "/api/v2/mfa/settings", ops, {"enabled": False})
    assert switched_off.get_json()["enabled"] is False
    assert password_login(client, web_app).status_code == 200  # MFA off: the password suffices


@pytest.mark.parametrize(("body", "message"), [
    ({"colour": "blue"}, "Unknown MFA setting 'colour'"),
    ({"factors": "otp"}, "factors must be a list of strings"),
    ({"factors": ["otp", "fax"]}, "Unknown factor 'fax'"),
    ({"mfa_token_ttl": 5}, "mfa_token_ttl must be a whole number from 60 to 3600"),
    ({"enabled": "yes"}, "enabled must be true or false"),
    ({"totp_issuer": 42}, "totp_issuer must be a string"),
    ({"sms_template": "Hello"}, "must contain {code}"),
    ([1, 2], "The JSON body must be an object"),
])
def test_bad_settings_are_refused_and_nothing_changes(client: FlaskClient,
                                                      machine: RegisteredClient, body: Any,
                                                      message: str) -> None:
    ops = management_token(client, machine)
    before = call(client, "GET", "/api/v2/mfa/settings", ops).get_json()
    refused = assert_error(call(client, "PATCH", "/api/v2/mfa/settings", ops, body),
                           "invalid_request", 400)
    assert message in refused["error_description"]
    assert call(client, "GET", "/api/v2/mfa/settings", ops).get_json() == before


def test_the_document_and_the_code_agree_where_they_once_did_not(
        client: FlaskClient, machine: RegisteredClient) -> None:
    """Each case a schema-driven fuzzer found: the document (JSON Schema 2020-12) and the code
    now give the same verdict."""
    ops = management_token(client, machine)
    start = call(client, "GET", "/api/v2/sms/credits", ops).get_json()["balance"]
    topped = call(client, "POST", "/api/v2/sms/credits", ops, {"add": 42880.0})  # an integer
    assert topped.get_json() == {"balance": start + 42880}, topped.get_json()
    assert_error(call(client, "PATCH", "/api/v2/mfa/settings", ops, {}),  # minProperties: 1
                 "invalid_request", 400)
    document = client.get("/api/v2/openapi.json").get_json()["components"]["schemas"]
    assert document["NewUser"]["properties"]["email"]["minLength"] == 3
    refused = call(client, "POST", "/api/v2/users", ops, {"email": "", "password": "x" * 8})
    assert_error(refused, "invalid_request", 400)
    grant = document["NewClient"]["properties"]["grant_types"]["items"]
    assert "" not in grant["enum"] and "mfa-otp" in grant["enum"]
    assert_error(call(client, "POST", "/api/v2/clients", ops, {"name": "A", "grant_types": [""]}),
                 "invalid_request", 400)


@pytest.mark.parametrize("body", [
    {"email": "BOB@example.ORG"}, {"email_verified": True, "email": "Bob@Example.org"},
    {"blocked": True, "email": "bob@example.org"},
    {"password": "a brand new secret", "email": "bob@example.org"},
])
def test_another_users_address_is_a_409_conflict_and_nothing_changes(
    client: FlaskClient, user: Any, make_user: Callable[..., Any], machine: RegisteredClient,
    body: dict[str, Any],
) -> None:
    make_user(email="bob@example.org")
    ops = management_token(client, machine)
    path = f"/api/v2/users/{user.id}"
    before = call(client, "GET", path, ops).get_json()
    clash = assert_error(call(client, "PATCH", path, ops, body), "conflict", 409)
    assert clash["error_description"] == "A user with this email address already exists."
    assert call(client, "GET", path, ops).get_json() == before
    created = call(client, "POST", "/api/v2/users", ops,
                   {"email": "Bob@example.org", "password": "long enough pw"})
    assert_error(created, "conflict", 409)


def test_credits_are_read_and_topped_up(client: FlaskClient, machine: RegisteredClient) -> None:
    ops = management_token(client, machine)
    start = call(client, "GET", "/api/v2/sms/credits", ops).get_json()["balance"]
    topped = call(client, "POST", "/api/v2/sms/credits", ops, {"add": 250}).get_json()
    assert topped == {"balance": start + 250}


@pytest.mark.parametrize("body", [{"add": 0}, {"add": -5}, {"add": 2.5}, {"add": True},
                                  {"add": "10"}, {"add": 10, "note": "x"}, {}])
def test_bad_top_ups_are_refused(client: FlaskClient, machine: RegisteredClient,
                                 body: dict[str, Any]) -> None:
    ops = management_token(client, machine)
    start = call(client, "GET", "/api/v2/sms/credits", ops).get_json()["balance"]
    assert_error(call(client, "POST", "/api/v2/sms/credits", ops, body), "invalid_request", 400)
    assert call(client, "GET", "/api/v2/sms/credits", ops).get_json()["balance"] == start


def test_a_form_body_is_refused_with_a_hint(client: FlaskClient,
                                            machine: RegisteredClient) -> None:
    ops = management_token(client, machine)
    response = client.post("/api/v2/sms/credits", data={"add": "5"}, headers=bearer(ops))
    body = assert_error(response, "invalid_request", 400)
    assert "application/json" in body["error_description"]


def test_users_are_found_by_part_of_their_email_page_by_page(
    client: FlaskClient, make_user: Callable[..., Any], machine: RegisteredClient,
) -> None:
    for name in ("ann", "anna", "bob", "annie_x", "zed"):
        make_user(email=f"{name}@example.org")
    ops = management_token(client, machine)
    first = call(client, "GET", "/api/v2/users?q=ANN&per_page=2", ops).get_json()
    assert (first["total"], first["page"], first["per_page"]) == (3, 0, 2)
    assert [u["email"] for u in first["users"]] == ["ann@example.org", "anna@example.org"]
    second = call(client, "GET", "/api/v2/users?q=ann&per_page=2&page=1", ops).get_json()
    assert [u["email"] for u in second["users"]] == ["annie_x@example.org"]
    literal = call(client, "GET", "/api/v2/users?q=e_x", ops).get_json()  # _ is no wildcard
    assert [u["email"] for u in literal["users"]] == ["annie_x@example.org"]
    assert set(first["users"][0]) == {  # never is_admin
        "user_id", "email", "email_verified", "created_at", "blocked", "blocked_at", "name",
        "given_name", "family_name", "preferred_username", "picture", "locale", "updated_at"}


@pytest.mark.parametrize(("query", "message"), [
    ("page=-1", "page must be a whole number"),
    ("per_page=0", "per_page must be a whole number from 1 to 100"),
    ("per_page=101", "per_page must be a whole number from 1 to 100"),
    ("page=x", "page must be a whole number"),
    # past int()'s digit limit: no 500; past the document's maximum: its bounds
    ("page=" + "9" * 5000, "page must be a whole number from 0 to 999999999999"),
    ("page=" + "1" + "0" * 12, "page must be a whole number from 0 to 999999999999"),
])
def test_bad_paging_is_refused(client: FlaskClient, machine: RegisteredClient, query: str,
                               message: str) -> None:
    response = call(client, "GET", f"/api/v2/users?{query}", management_token(client, machine))
    assert message in assert_error(response, "invalid_request", 400)["error_description"]


@pytest.mark.parametrize(("body", "message"), [
    ({"email": "not-an-email", "password": "long enough pw"}, "email address is not valid"),
    ({"email": "new@example.org", "password": "short"}, "password must be"),
    ({"email": "new@example.org"}, "both strings"),
    ({"email": 1, "password": 2}, "both strings"),
])
def test_bad_new_users_are_refused(client: FlaskClient, user: Any, machine: RegisteredClient,
                                   body: dict[str, Any], message: str) -> None:
    response = call(client, "POST", "/api/v2/users", management_token(client, machine), body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v2/users/nobody", None),
    ("PATCH", "/api/v2/users/nobody", {"blocked": True}),
    ("DELETE", "/api/v2/users/nobody", None),
    ("GET", "/api/v2/users/nobody/authenticators", None),
    ("DELETE", "/api/v2/users/nobody/authenticators", None),
    ("DELETE", "/api/v2/users/nobody/authenticators/nothing", None),
    ("GET", "/api/v2/users/nobody/consents", None),
    ("DELETE", "/api/v2/users/nobody/consents/nothing", None),
])
def test_an_unknown_user_is_not_found(client: FlaskClient, machine: RegisteredClient,
                                      method: str, path: str, body: Any) -> None:
    response = call(client, method, path, management_token(client, machine), body)
    assert_error(response, "not_found", 404)


def test_a_deleted_user_is_gone(client: FlaskClient, user: Any, machine: RegisteredClient,
                                web_app: RegisteredClient) -> None:
    ops = management_token(client, machine)
    assert call(client, "DELETE", f"/api/v2/users/{user.id}", ops).status_code == 204
    assert_error(call(client, "GET", f"/api/v2/users/{user.id}", ops), "not_found", 404)
    assert_error(password_login(client, web_app), "invalid_grant", 400)


def test_a_reset_removes_every_factor_and_ends_every_session(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    enrolled = enroll(client, web_app)
    signed_in = mfa_grant(client, web_app, "mfa-recovery-code",
                          mfa_token=mfa_token(client, web_app),
                          recovery_code=enrolled.recovery_codes[0]).get_json()
    ops = management_token(client, machine)
    reset = call(client, "DELETE", f"/api/v2/users/{user.id}/authenticators", ops)
    assert reset.get_json() == {"removed": 1}
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": signed_in["refresh_token"]}, auth=web_app.basic)
    assert_error(refreshed, "invalid_grant", 400)  # the session the factor opened is over
    after = password_login(client, web_app)  # no second factor now: the password suffices
    assert after.status_code == 200 and "access_token" in after.get_json()


def test_a_new_clients_secret_is_shown_once_and_works(client: FlaskClient, user: Any,
                                                      machine: RegisteredClient) -> None:
    ops = management_token(client, machine)
    made = call(client, "POST", "/api/v2/clients", ops,
                {"name": "Shop", "grant_types": ["password", "mfa-otp"]})
    assert made.status_code == 201
    body = made.get_json()
    assert body["grant_types"] == ["password", "http://protekt.dev/oauth/grant-type/mfa-otp"]
    shop = RegisteredClient(body["client_id"], body["client_secret"])
    assert password_login(client, shop).status_code == 200
    read = call(client, "GET", f"/api/v2/clients/{shop.client_id}", ops).get_json()
    assert "client_secret" not in read and read["public"] is False
    listed = call(client, "GET", "/api/v2/clients", ops).get_json()["clients"]
    assert shop.client_id in [c["client_id"] for c in listed]


def test_grant_types_rotation_and_deletion_take_effect_at_once(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    ops = management_token(client, machine)
    path = f"/api/v2/clients/{web_app.client_id}"
    call(client, "PATCH", path, ops, {"grant_types": ["refresh_token"]})
    assert_error(password_login(client, web_app), "unauthorized_client", 400)
    call(client, "PATCH", path, ops, {"grant_types": ["password"]})
    rotated = call(client, "POST", f"{path}/rotate-secret", ops).get_json()["client_secret"]
    assert_error(password_login(client, web_app), "invalid_client", 401)  # the old secret
    assert password_login(client, RegisteredClient(web_app.client_id, rotated)).status_code == 200
    assert call(client, "DELETE", path, ops).status_code == 204
    assert_error(call(client, "GET", path, ops), "not_found", 404)
    assert_error(password_login(client, RegisteredClient(web_app.client_id, rotated)),
                 "invalid_client", 401)


@pytest.mark.parametrize(("body", "message"), [
    ({"name": ""}, "name must be 1 to 100"),
    ({"name": 5}, "name must be a string"),
    ({"name": "A", "public": "no"}, "public true or false"),
    ({"name": "A", "colour": "red"}, "Unknown client field 'colour'"),
    ({"name": "A", "grant_types": ["implicit"]}, "Unknown grant type implicit"),
    ({"name": "A", "grant_types": "password"}, "grant_types must be a list of strings"),
    ({"name": "A", "public": True, "grant_types": ["client_credentials"]},
     "public client cannot use client_credentials"),
    ({"name": "A", "scopes": ["bad scope"]}, "printable ASCII"),
])
def test_bad_new_clients_are_refused(client: FlaskClient, machine: RegisteredClient,
                                     body: dict[str, Any], message: str) -> None:
    ops = management_token(client, machine)
    before = len(call(client, "GET", "/api/v2/clients", ops).get_json()["clients"])
    response = call(client, "POST", "/api/v2/clients", ops, body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]
    assert len(call(client, "GET", "/api/v2/clients", ops).get_json()["clients"]) == before


@pytest.mark.parametrize(("body", "message"), [
    ({"grant_types": []}, "at least one grant type"),
    ({"grant_types": ["password"], "name": "x"}, "Unknown client field 'name'"),
    ({"name": "x"}, "Unknown client field 'name'"),
    ({}, "Send at least one of grant_types, redirect_uris, post_logout_redirect_uris, "
         "first_party"),
])
def test_bad_client_changes_are_refused(client: FlaskClient, machine: RegisteredClient,
                                        web_app: RegisteredClient, body: dict[str, Any],
                                        message: str) -> None:
    response = call(client, "PATCH", f"/api/v2/clients/{web_app.client_id}",
                    management_token(client, machine), body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]


def test_a_public_client_has_no_secret_to_rotate(
    client: FlaskClient, machine: RegisteredClient, make_client: Callable[..., RegisteredClient],
) -> None:
    spa = make_client(name="SPA", public=True)
    response = call(client, "POST", f"/api/v2/clients/{spa.client_id}/rotate-secret",
                    management_token(client, machine))
    assert "no secret to rotate" in assert_error(response, "invalid_request",
                                                 400)["error_description"]


def test_the_audit_trail_is_read_newest_first_by_user_and_type(
    client: FlaskClient, user: Any, make_user: Callable[..., Any], machine: RegisteredClient,
    web_app: RegisteredClient,
) -> None:
    other = make_user(email="bob@example.org")
    for _ in range(3):
        assert password_login(client, web_app).status_code == 200
    password_login(client, web_app, username="bob@example.org")
    ops = management_token(client, machine)
    query = f"/api/v2/audit-events?user_id={user.id}&type=login.success&limit=2"
    first = call(client, "GET", query, ops).get_json()["events"]
    assert [e["type"] for e in first] == ["login.success"] * 2
    assert {e["user_id"] for e in first} == {user.id} and first[0]["id"] > first[1]["id"]
    older = call(client, "GET", f"{query}&before={first[1]['id']}", ops).get_json()["events"]
    assert len(older) == 1 and older[0]["id"] < first[1]["id"]
    bobs = call(client, "GET", f"/api/v2/audit-events?user_id={other.id}", ops).get_json()
    assert {e["type"] for e in bobs["events"]} == {"user.created", "login.success"}
    assert set(first[0]) == {"id", "type", "user_id", "client_id", "ip", "created_at", "detail"}


def test_a_before_beyond_every_id_is_no_bound(client: FlaskClient, user: Any,
                                              machine: RegisteredClient) -> None:
    ops = management_token(client, machine)
    for before in ("2147483648", "999999999999"):
        answer = call(client, "GET", f"/api/v2/audit-events?before={before}", ops)
        assert answer.status_code == 200 and answer.get_json()["events"], answer.get_json()


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "before=-3",
                                   "before=" + "9" * 5000, "before=0",
                                   "before=1" + "0" * 12])
def test_bad_audit_queries_are_refused(client: FlaskClient, machine: RegisteredClient,
                                       query: str) -> None:
    response = call(client, "GET", f"/api/v2/audit-events?{query}",
                    management_token(client, machine))
    assert_error(response, "invalid_request", 400)


# --- changing users -----------------------------------------------------------------------

def user_events(client: FlaskClient, ops: str, user_id: str, kind: str) -> list[dict[str, Any]]:
    query = f"/api/v2/audit-events?user_id={user_id}&type={kind}"
    return call(client, "GET", query, ops).get_json()["events"]


def refresh(client: FlaskClient, app_client: RegisteredClient, refresh_token: str) -> Any:
    return token(client, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                 auth=app_client.basic)


def test_a_new_password_works_and_ends_every_session(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    signed_in = password_login(client, web_app).get_json()
    ops = management_token(client, machine)
    changed = call(client, "PATCH", f"/api/v2/users/{user.id}", ops,
                   {"password": "a brand new secret"})
    assert changed.status_code == 200 and changed.get_json()["user_id"] == user.id
    revoked = assert_error(refresh(client, web_app, signed_in["refresh_token"]),
                           "invalid_grant", 400)
    assert "revoked" in revoked["error_description"]
    assert_error(password_login(client, web_app), "invalid_grant", 400)  # the old password
    assert password_login(client, web_app, password="a brand new secret").status_code == 200
    [event] = user_events(client, ops, user.id, "user.updated")
    assert event["detail"] == {"fields": ["password"]}  # named, never its value


def test_a_new_address_logs_in_and_is_unverified_unless_said_otherwise(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    ops = management_token(client, machine)
    path = f"/api/v2/users/{user.id}"
    verified = call(client, "PATCH", path, ops, {"email_verified": True}).get_json()
    assert verified["email_verified"] is True
    recased = call(client, "PATCH", path, ops, {"email": " Ann@Example.ORG "}).get_json()
    assert (recased["email"], recased["email_verified"]) == ("Ann@Example.ORG", True)
    moved = call(client, "PATCH", path, ops, {"email": "Ann.Lee@Example.org"}).get_json()
    assert (moved["email"], moved["email_verified"]) == ("Ann.Lee@Example.org", False)
    assert password_login(client, web_app, username="ann.lee@example.org").status_code == 200
    assert_error(password_login(client, web_app), "invalid_grant", 400)  # the old address
    both = call(client, "PATCH", path, ops, {"email": "ann@example.org", "email_verified": True})
    assert both.get_json()["email_verified"] is True
    changes = [e["detail"]["fields"] for e in user_events(client, ops, user.id, "user.updated")]
    assert changes == [["email", "email_verified"], ["email", "email_verified"], ["email"],
                       ["email_verified"]]  # newest first


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Send at least one of email, email_verified, password, blocked, name, given_name, "
         "family_name, preferred_username, picture, locale"),
    ({"colour": "blue"}, "Unknown user field 'colour'"),
    ({"is_admin": True}, "Unknown user field 'is_admin'"),
    ({"email": 5}, "email must be a string"),
    ({"email_verified": "yes"}, "email_verified must be true or false"),
    ({"password": None}, "password must be a string"),
    ({"blocked": 1}, "blocked must be true or false"),
    ({"blocked": True, "colour": "blue"}, "Unknown user field 'colour'"),
    ({"email": "not-an-email"}, "email address is not valid"),
    ({"password": "short"}, "password must be 8 to 1024"),
    ({"password": "x" * 1025}, "password must be 8 to 1024"),
    ({"email": "ann.new@example.org", "password": "short"}, "password must be"),
    ({"blocked": True, "password": "short"}, "password must be"),
    ([{"blocked": True}], "must be an object"),
])
def test_bad_user_changes_are_refused_and_nothing_changes(
    client: FlaskClient, user: Any, make_user: Callable[..., Any], machine: RegisteredClient,
    web_app: RegisteredClient, *, body: Any, message: str,
) -> None:
    make_user(email="bob@example.org")
    signed_in = password_login(client, web_app).get_json()
    ops = management_token(client, machine)
    path = f"/api/v2/users/{user.id}"
    before = call(client, "GET", path, ops).get_json()
    refused = assert_error(call(client, "PATCH", path, ops, body), "invalid_request", 400)
    assert message in refused["error_description"]
    assert call(client, "GET", path, ops).get_json() == before
    for kind in ("user.updated", "user.blocked"):
        assert user_events(client, ops, user.id, kind) == []
    assert refresh(client, web_app, signed_in["refresh_token"]).status_code == 200
    assert password_login(client, web_app).status_code == 200  # the password is the same


# --- blocking -----------------------------------------------------------------------------

def set_blocked(client: FlaskClient, ops: str, user_id: str, blocked: bool) -> dict[str, Any]:
    response = call(client, "PATCH", f"/api/v2/users/{user_id}", ops, {"blocked": blocked})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_blocked(response: Any) -> None:
    body = assert_error(response, "invalid_grant", 400)
    assert body["error_description"] == "This account is blocked."


def test_a_blocked_user_gets_no_token_for_the_right_password_and_learns_nothing_from_a_wrong_one(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    unblocked_wrong = password_login(client, web_app, password="not the password").get_json()
    ops = management_token(client, machine)
    blocked = set_blocked(client, ops, user.id, True)
    assert blocked["blocked"] is True and blocked["blocked_at"] is not None
    assert_blocked(password_login(client, web_app))
    wrong = password_login(client, web_app, password="not the password")
    assert assert_error(wrong, "invalid_grant", 400) == unblocked_wrong  # as if not blocked
    unblocked = set_blocked(client, ops, user.id, False)
    assert (unblocked["blocked"], unblocked["blocked_at"]) == (False, None)
    assert password_login(client, web_app).status_code == 200


def test_a_blocked_users_refresh_token_is_refused_and_stays_revoked_after_unblocking(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    signed_in = password_login(client, web_app).get_json()
    ops = management_token(client, machine)
    set_blocked(client, ops, user.id, True)
    assert_blocked(refresh(client, web_app, signed_in["refresh_token"]))
    set_blocked(client, ops, user.id, False)
    revoked = assert_error(refresh(client, web_app, signed_in["refresh_token"]),
                           "invalid_grant", 400)
    assert "revoked" in revoked["error_description"]  # blocking ended the session for good
    fresh = password_login(client, web_app).get_json()
    assert refresh(client, web_app, fresh["refresh_token"]).status_code == 200


def test_an_mfa_token_from_before_the_block_gets_no_token(
    client: FlaskClient, machine: RegisteredClient, web_app: RegisteredClient,
    mfa_user: EnrolledUser, user: Any,
) -> None:
    ticket = mfa_token(client, web_app)
    ops = management_token(client, machine)
    set_blocked(client, ops, user.id, True)
    assert_blocked(mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                             otp=mfa_user.device.next_code()))
    assert_blocked(mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=ticket,
                             recovery_code=mfa_user.recovery_codes[0]))
    set_blocked(client, ops, user.id, False)
    again = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
                      recovery_code=mfa_user.recovery_codes[0])  # not spent while blocked
    assert again.status_code == 200, again.get_json()


def test_a_blocked_users_access_token_stops_working_at_once(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
) -> None:
    access = password_login(client, web_app, scope="openid read:authenticators").get_json()[
        "access_token"]
    assert client.get("/userinfo", headers=bearer(access)).status_code == 200
    set_blocked(client, management_token(client, machine), user.id, True)
    for answer in (client.get("/userinfo", headers=bearer(access)),
                   client.get("/mfa/authenticators", headers=bearer(access))):
        body = assert_error(answer, "invalid_token", 401)  # the block revoked the login
        assert body["error_description"] == "The access token has been revoked."


def test_a_blocked_users_token_of_a_login_without_refresh_stops_working_too(
    client: FlaskClient, user: Any, machine: RegisteredClient,
    make_client: Callable[..., RegisteredClient],
) -> None:
    no_refresh = make_client(grant_types=["password"])
    access = password_login(client, no_refresh, scope="openid").get_json()["access_token"]
    set_blocked(client, management_token(client, machine), user.id, True)
    body = assert_error(client.get("/userinfo", headers=bearer(access)), "invalid_token", 401)
    assert body["error_description"] == "This account is blocked."


def test_an_mfa_token_from_before_the_block_sends_no_sms(
    client: FlaskClient, machine: RegisteredClient, web_app: RegisteredClient,
    mfa_user: EnrolledUser, *, user: Any, outbox: Outbox,
) -> None:
    ticket = mfa_token(client, web_app)
    set_blocked(client, management_token(client, machine), user.id, True)
    for challenge_type in ("otp", "sms"):
        answer = client.post("/mfa/challenge", auth=web_app.basic,
                             data={"mfa_token": ticket, "challenge_type": challenge_type})
        assert_blocked(answer)
    assert outbox.messages() == []


@pytest.fixture
def dashboard_admin(app: Flask) -> str:
    with app.app_context():
        return services.administration.create("root@example.org", "the admin's password",
                                     is_admin=True).id


@pytest.mark.parametrize(("method", "path", "body", "scope"), [
    ("PATCH", "/api/v2/users/{user}", {"password": "a password of mine"}, "update:users"),
    ("PATCH", "/api/v2/users/{user}", {"blocked": True}, "update:users"),
    ("PATCH", "/api/v2/users/{user}", {"name": "Mallory"}, "update:users"),
    ("DELETE", "/api/v2/users/{user}/consents/{client}", None, "update:users"),
    ("DELETE", "/api/v2/users/{user}", None, "delete:users"),
    ("DELETE", "/api/v2/users/{user}/authenticators", None, "delete:authenticators"),
    ("DELETE", "/api/v2/users/{user}/authenticators/{user}", None, "delete:authenticators"),
])
def test_a_dashboard_administrator_cannot_be_changed_through_the_api(
    app: Flask, client: FlaskClient, machine: RegisteredClient, web_app: RegisteredClient,
    dashboard_admin: str, *, method: str, path: str, body: Any, scope: str,
) -> None:
    give_consent(app, dashboard_admin, web_app.client_id)
    ops = management_token(client, machine, scope)
    answer = call(client, method, path.format(user=dashboard_admin, client=web_app.client_id),
                  ops, body)
    assert "administrator" in assert_error(answer, "access_denied", 403)["error_description"]
    with app.app_context():
        admin = services.administration.user(dashboard_admin)
        assert admin.is_admin and not admin.blocked and admin.name is None
        assert services.consents.granted(dashboard_admin, web_app.client_id)
    readable = call(client, "GET", f"/api/v2/users/{dashboard_admin}",
                    management_token(client, machine, "read:users"))
    assert readable.status_code == 200 and "is_admin" not in readable.get_json()


def test_a_new_client_gets_no_management_scope_its_creator_lacks(
    client: FlaskClient, machine: RegisteredClient,
) -> None:
    """create:clients alone must not mint a client with every management scope."""
    creator = management_token(client, machine, "create:clients read:users")
    refused = call(client, "POST", "/api/v2/clients", creator,
                   {"name": "Escalator", "grant_types": ["client_credentials"],
                    "scopes": ["read:users", "update:settings"], "audiences": [API]})
    body = assert_error(refused, "insufficient_scope", 403)
    assert "update:settings" in body["error_description"]
    listed = call(client, "GET", "/api/v2/clients", management_token(client, machine))
    assert "Escalator" not in str(listed.get_json())
    allowed = call(client, "POST", "/api/v2/clients", creator,
                   {"name": "Reader", "grant_types": ["client_credentials"],
                    "scopes": ["read:users", "photos:read"], "audiences": [API]})
    assert allowed.status_code == 201, allowed.get_json()


def test_update_clients_alone_cannot_take_over_a_stronger_client(
    client: FlaskClient, machine: RegisteredClient, make_client: Callable[..., RegisteredClient],
) -> None:
    root = make_client(name="Root", grant_types=["client_credentials"],
                       scopes=["read:users", "update:settings"], audiences=[API])
    weak = management_token(client, machine, "update:clients read:users")
    for method, path, body in (("POST", f"/api/v2/clients/{root.client_id}/rotate-secret", None),
                               ("PATCH", f"/api/v2/clients/{root.client_id}",
                                {"grant_types": ["client_credentials"]})):
        answer = call(client, method, path, weak, body)
        assert "update:settings" in assert_error(answer, "insufficient_scope", 403)[
            "error_description"]
    assert management_token(client, root, "update:settings")  # the old secret still works


def test_a_blocked_users_mfa_token_is_refused_at_the_mfa_endpoints(
    client: FlaskClient, machine: RegisteredClient, web_app: RegisteredClient,
    mfa_user: EnrolledUser, user: Any,
) -> None:
    ticket = mfa_token(client, web_app)
    set_blocked(client, management_token(client, machine), user.id, True)
    for answer in (client.get("/mfa/authenticators", headers=bearer(ticket)),
                   client.post("/mfa/associate", headers=bearer(ticket),
                               json={"type": "sms", "phone_number": PHONE})):
        body = assert_error(answer, "invalid_token", 401)
        assert body["error_description"] == "This account is blocked."


def test_blocking_twice_changes_nothing_the_second_time(
    client: FlaskClient, user: Any, machine: RegisteredClient,
) -> None:
    ops = management_token(client, machine)
    first = set_blocked(client, ops, user.id, True)
    assert set_blocked(client, ops, user.id, True) == first
    assert len(user_events(client, ops, user.id, "user.blocked")) == 1
    set_blocked(client, ops, user.id, False)
    set_blocked(client, ops, user.id, False)
    assert len(user_events(client, ops, user.id, "user.unblocked")) == 1


# --- a user's authenticators ----------------------------------------------------------------

PHONE = "+14155552671"


@pytest.fixture
def two_factors(client: FlaskClient, web_app: RegisteredClient,
                mfa_user: EnrolledUser) -> tuple[EnrolledUser, str, str]:
    """Ann with an authenticator app and a phone: (the app, the phone's id, an access token of
    Ann's whose amr holds mfa)."""
    ticket = mfa_token(client, web_app, scope=MFA_SCOPE)
    signed_in = mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket,
                          otp=mfa_user.device.next_code())
    own = signed_in.get_json()["access_token"]
    phone = client.post("/mfa/associate", json={"type": "sms", "phone_number": PHONE},
                        headers=bearer(own))
    assert phone.status_code == 200, phone.get_json()
    return mfa_user, phone.get_json()["id"], own


def test_a_users_authenticators_are_listed_as_the_user_sees_them(
    client: FlaskClient, user: Any, machine: RegisteredClient,
    two_factors: tuple[EnrolledUser, str, str],
) -> None:
    enrolled, phone_id, own = two_factors
    listed = call(client, "GET", f"/api/v2/users/{user.id}/authenticators",
                  management_token(client, machine)).get_json()["authenticators"]
    assert listed == client.get("/mfa/authenticators", headers=bearer(own)).get_json()
    assert [item["id"] for item in listed] == [enrolled.authenticator_id, phone_id,
                                               "recovery-code"]
    assert listed[1]["phone_number"] == "+1******2671" and PHONE not in str(listed)
    assert listed[2] == {"id": "recovery-code", "authenticator_type": "recovery-code",
                         "active": True, "remaining": 10}


def test_removing_one_authenticator_leaves_the_others_and_the_last_takes_the_codes(
    client: FlaskClient, user: Any, machine: RegisteredClient, web_app: RegisteredClient,
    two_factors: tuple[EnrolledUser, str, str],
) -> None:
    enrolled, phone_id, _ = two_factors
    ops = management_token(client, machine)
    path = f"/api/v2/users/{user.id}/authenticators"
    assert call(client, "DELETE", f"{path}/{phone_id}", ops).status_code == 204
    left = call(client, "GET", path, ops).get_json()["authenticators"]
    assert [item["id"] for item in left] == [enrolled.authenticator_id, "recovery-code"]
    [event] = user_events(client, ops, user.id, "mfa.removed")
    assert event["detail"] == {"by": "admin", "authenticator_id": phone_id, "factor": "sms"}
    last = call(client, "DELETE", f"{path}/{enrolled.authenticator_id}", ops)
    assert last.status_code == 204
    assert call(client, "GET", path, ops).get_json() == {"authenticators": []}
    assert password_login(client, web_app).status_code == 200  # no second factor is left


def test_an_unknown_or_another_users_authenticator_is_not_found_and_stays(
    client: FlaskClient, make_user: Callable[..., Any], machine: RegisteredClient,
    mfa_user: EnrolledUser, user: Any,
) -> None:
    bob = make_user(email="bob@example.org")
    ops = management_token(client, machine)
    response = call(client, "DELETE",
                    f"/api/v2/users/{bob.id}/authenticators/{mfa_user.authenticator_id}", ops)
    assert_error(response, "not_found", 404)
    unknown = call(client, "DELETE", f"/api/v2/users/{user.id}/authenticators/nothing", ops)
    assert_error(unknown, "not_found", 404)
    mine = call(client, "GET", f"/api/v2/users/{user.id}/authenticators", ops).get_json()
    assert mine["authenticators"][0]["id"] == mfa_user.authenticator_id


# --- the OpenAPI document -----------------------------------------------------------------

def openapi_document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v2/openapi.json")  # no token: the document is public
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    return response.get_json()


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path under /api/v2) → the operation."""
    return {(method.upper(), path): operation for path, item in document["paths"].items()
            for method, operation in item.items()}


def test_the_document_is_valid_openapi_3_1_for_this_issuer(client: FlaskClient) -> None:
    document = openapi_document(client)
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": f"{ISSUER}/api/v2"}]
    flow = document["components"]["securitySchemes"]["management"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == f"{ISSUER}/oauth/token"
    assert set(flow["clientCredentials"]["scopes"]) == set(MANAGEMENT_SCOPES)
    assert set(ALL_SCOPES.split()) == set(MANAGEMENT_SCOPES)


def test_the_document_describes_exactly_the_routes_there_are(app: Flask,
                                                             client: FlaskClient) -> None:
    routes = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v2"))
        for rule in app.url_map.iter_rules() if rule.endpoint.startswith("management.")
        for method in rule.methods or () if method not in ("HEAD", "OPTIONS")
    }
    assert set(operations(openapi_document(client))) == routes


def test_each_operation_needs_the_scope_the_document_names(
    client: FlaskClient, machine: RegisteredClient,
) -> None:
    for (method, path), operation in operations(openapi_document(client)).items():
        url = "/api/v2" + re.sub(r"\{\w+\}", "nothing", path)
        body = {} if method in ("POST", "PATCH") else None
        if not operation["security"]:
            assert client.open(url, method=method).status_code == 200
            continue
        [[scope]] = [requirement["management"] for requirement in operation["security"]]
        others = " ".join(name for name in MANAGEMENT_SCOPES if name != scope)
        refused = call(client, method, url, management_token(client, machine, others), body)
        assert scope in assert_error(refused, "insufficient_scope", 403)["error_description"]
        allowed = call(client, method, url, management_token(client, machine, scope), body)
        assert allowed.status_code not in (401, 403), (method, path, allowed.get_json())


def test_answers_match_the_documented_schemas(
    app: Flask, client: FlaskClient, user: Any, machine: RegisteredClient, *,
    web_app: RegisteredClient, two_factors: tuple[EnrolledUser, str, str],
) -> None:
    document = openapi_document(client)
    ops = management_token(client, machine)
    made = call(client, "POST", "/api/v2/clients", ops,
                {"name": "Shop", "redirect_uris": ["https://shop.example/cb"],
                 "first_party": False}).get_json()
    give_consent(app, user.id, made["client_id"])
    exchanges = [
        ("GET", "/mfa/settings", "/mfa/settings", None),
        ("GET", "/sms/credits", "/sms/credits", None),
        ("GET", "/users", "/users?q=ann", None),
        ("PATCH", "/users/{user_id}", f"/users/{user.id}", {"blocked": True}),
        ("PATCH", "/users/{user_id}", f"/users/{user.id}", {"name": "Ann Lee", "locale": "en"}),
        ("POST", "/users", "/users", {"email": "cy@example.org", "password": "long enough pw",
                                      "given_name": "Cy"}),
        ("GET", "/users/{user_id}/consents", f"/users/{user.id}/consents", None),
        ("PATCH", "/clients/{client_id}", f"/clients/{made['client_id']}",
         {"post_logout_redirect_uris": ["https://shop.example/"]}),
        ("PATCH", "/clients/{client_id}", f"/clients/{made['client_id']}",
         {"redirect_uris": ["http://shop.example/cb"]}),
        ("GET", "/users/{user_id}", f"/users/{user.id}", None),
        ("GET", "/users/{user_id}", "/users/nobody", None),
        ("GET", "/users/{user_id}/authenticators", f"/users/{user.id}/authenticators", None),
        ("PATCH", "/users/{user_id}", f"/users/{user.id}", {"password": "short"}),
        ("DELETE", "/users/{user_id}/authenticators", f"/users/{user.id}/authenticators", None),
        ("GET", "/clients", "/clients", None),
        ("GET", "/clients/{client_id}", f"/clients/{made['client_id']}", None),
        ("POST", "/clients/{client_id}/rotate-secret",
         f"/clients/{made['client_id']}/rotate-secret", None),
        ("GET", "/audit-events", "/audit-events?limit=5", None),
    ]
    for method, template, path, body in exchanges:
        response = call(client, method, f"/api/v2{path}", ops, body)
        declared = document["paths"][template][method.lower()]["responses"]
        answer = declared[str(response.status_code)]
        if "$ref" in answer:
            answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        schema = answer["content"]["application/json"]["schema"]
        OAS31Validator({**schema, "components": document["components"]}).validate(
            response.get_json())
    created = document["paths"]["/clients"]["post"]["responses"]["201"]
    OAS31Validator({**created["content"]["application/json"]["schema"],
                    "components": document["components"]}).validate(made)
