"""The management API's first part (API.md §4): MFA settings and SMS credits, for machine
clients' client_credentials tokens, each call behind its own scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.test_password_grant import ISSUER
from tests.conftest import (
    RegisteredClient,
    assert_error,
    bearer,
    enroll,
    mfa_grant,
    mfa_token,
    password_login,
    token,
)

API = f"{ISSUER}/api/v2/"
ALL_SCOPES = ("read:settings update:settings read:sms_credits update:sms_credits read:users "
              "create:users delete:users delete:authenticators read:clients create:clients "
              "update:clients delete:clients read:audit")
CALLS = [  # (method, path, body, the scope it needs); {user} is an existing user's id
    ("GET", "/api/v2/mfa/settings", None, "read:settings"),
    ("PATCH", "/api/v2/mfa/settings", {"totp_issuer": "Acme"}, "update:settings"),
    ("GET", "/api/v2/sms/credits", None, "read:sms_credits"),
    ("POST", "/api/v2/sms/credits", {"add": 5}, "update:sms_credits"),
    ("GET", "/api/v2/users?q=ann", None, "read:users"),
    ("POST", "/api/v2/users", {"email": "new@example.org", "password": "long enough pw"},
     "create:users"),
    ("GET", "/api/v2/users/{user}", None, "read:users"),
    ("DELETE", "/api/v2/users/{user}/authenticators", None, "delete:authenticators"),
    ("DELETE", "/api/v2/users/{user}", None, "delete:users"),
    ("GET", "/api/v2/clients", None, "read:clients"),
    ("POST", "/api/v2/clients", {"name": "Shop"}, "create:clients"),
    ("GET", "/api/v2/clients/{client}", None, "read:clients"),
    ("PATCH", "/api/v2/clients/{client}", {"grant_types": ["password"]}, "update:clients"),
    ("POST", "/api/v2/clients/{client}/rotate-secret", None, "update:clients"),
    ("DELETE", "/api/v2/clients/{client}", None, "delete:clients"),
    ("GET", "/api/v2/audit-events?type=login.success", None, "read:audit"),
]
SUCCESS = {"POST /api/v2/users": 201, "DELETE /api/v2/users/{user}": 204,
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


Endpoint = tuple[str, str, Any, str]


@pytest.mark.parametrize("endpoint", CALLS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_call_needs_its_scope(client: FlaskClient, user: Any, machine: RegisteredClient,
                                   web_app: RegisteredClient, endpoint: Endpoint) -> None:
    method, template, body, scope = endpoint
    path = template.format(user=user.id, client=web_app.client_id)
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
    path = template.format(user=user.id, client="some-client")
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
    assert set(first["users"][0]) == {"user_id", "email", "email_verified", "created_at"}


@pytest.mark.parametrize(("query", "message"), [
    ("page=-1", "page must be a whole number"), ("per_page=0", "per_page 1 to 100"),
    ("per_page=101", "per_page 1 to 100"), ("page=x", "page must be a whole number"),
])
def test_bad_paging_is_refused(client: FlaskClient, machine: RegisteredClient, query: str,
                               message: str) -> None:
    response = call(client, "GET", f"/api/v2/users?{query}", management_token(client, machine))
    assert message in assert_error(response, "invalid_request", 400)["error_description"]


@pytest.mark.parametrize(("body", "message"), [
    ({"email": "not-an-email", "password": "long enough pw"}, "email address is not valid"),
    ({"email": "ann@example.org", "password": "long enough pw"}, "already exists"),
    ({"email": "new@example.org", "password": "short"}, "password must be"),
    ({"email": "new@example.org"}, "both strings"),
    ({"email": 1, "password": 2}, "both strings"),
])
def test_bad_new_users_are_refused(client: FlaskClient, user: Any, machine: RegisteredClient,
                                   body: dict[str, Any], message: str) -> None:
    response = call(client, "POST", "/api/v2/users", management_token(client, machine), body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]


def test_an_unknown_user_is_not_found(client: FlaskClient, machine: RegisteredClient) -> None:
    ops = management_token(client, machine)
    for method in ("GET", "DELETE"):
        assert_error(call(client, method, "/api/v2/users/nobody", ops), "not_found", 404)
    assert_error(call(client, "DELETE", "/api/v2/users/nobody/authenticators", ops),
                 "not_found", 404)


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
    ({"grant_types": ["password"], "name": "x"}, "other fields cannot change"),
    ({"name": "x"}, "other fields cannot change"),
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


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "before=-3"])
def test_bad_audit_queries_are_refused(client: FlaskClient, machine: RegisteredClient,
                                       query: str) -> None:
    response = call(client, "GET", f"/api/v2/audit-events?{query}",
                    management_token(client, machine))
    assert_error(response, "invalid_request", 400)
