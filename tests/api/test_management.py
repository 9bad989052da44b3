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
    password_login,
    token,
)

API = f"{ISSUER}/api/v2/"
ALL_SCOPES = "read:settings update:settings read:sms_credits update:sms_credits"
CALLS = [  # (method, path, body, the scope it needs)
    ("GET", "/api/v2/mfa/settings", None, "read:settings"),
    ("PATCH", "/api/v2/mfa/settings", {"totp_issuer": "Acme"}, "update:settings"),
    ("GET", "/api/v2/sms/credits", None, "read:sms_credits"),
    ("POST", "/api/v2/sms/credits", {"add": 5}, "update:sms_credits"),
]


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
def test_each_call_needs_its_scope(client: FlaskClient, machine: RegisteredClient,
                                   endpoint: Endpoint) -> None:
    method, path, body, scope = endpoint
    others = " ".join(name for name in ALL_SCOPES.split() if name != scope)
    refused = call(client, method, path, management_token(client, machine, others), body)
    assert_error(refused, "insufficient_scope", 403)
    allowed = call(client, method, path, management_token(client, machine, scope), body)
    assert allowed.status_code == 200, allowed.get_json()
    assert allowed.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("endpoint", CALLS, ids=lambda e: f"{e[0]} {e[1]}")
def test_no_token_or_a_users_token_is_refused(
    client: FlaskClient, user: Any, make_client: Callable[..., RegisteredClient],
    endpoint: Endpoint,
) -> None:
    method, path, body, scope = endpoint
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
