"""Control characters anywhere a request carries text: a clear 400 invalid_request (401
invalid_client in client credentials), never a 500 from the database, on SQLite and PostgreSQL
(which cannot store NUL: before the gate, each of these answered 500 there)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.test_management import machine, management_token  # noqa: F401 (a fixture)
from tests.conftest import RegisteredClient, access_token, assert_error, bearer, token
from tests.dashboard.conftest import Console, console, make_admin_user  # noqa: F401 (fixtures)

CONTROLS = ["\x00", "\x01", "\x1b", "\x7f"]


def basic(client_id: str, secret: str = "x") -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize("control", CONTROLS)
def test_token_endpoint_parameters_in_a_form_or_json(
        client: FlaskClient, web_app: RegisteredClient, control: str) -> None:
    login = {"grant_type": "password", "username": f"ha{control}nk@example.com",
             "password": "x"}
    described = assert_error(token(client, login, auth=web_app.basic), "invalid_request", 400)
    assert "username must not contain control characters" in described["error_description"]
    as_json = {"grant_type": "client_credentials", "client_id": f"a{control}b",
               "client_secret": "x"}
    assert_error(client.post("/oauth/token", json=as_json), "invalid_request", 400)
    nested = {"grant_type": "client_credentials", "audience": ["ok", f"a{control}"]}
    assert_error(client.post("/oauth/token", json=nested, headers=basic("a")),
                 "invalid_request", 400)


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/mfa/challenge"])
def test_basic_credentials_with_a_control_character_or_not_utf8_are_invalid_client(
        client: FlaskClient, path: str, control: str) -> None:
    body = {"grant_type": "client_credentials", "token": "t", "mfa_token": "m"}
    not_utf8 = {"Authorization": "Basic //46AA=="}  # b"\xff\xfe:\x00" (the attack run's)
    for credentials in (basic(f"a{control}b"), basic("a", f"s{control}"), not_utf8):
        assert_error(client.post(path, data=body, headers=credentials), "invalid_client", 401)


def test_revocation_and_challenge_parameters(client: FlaskClient,
                                             web_app: RegisteredClient) -> None:
    assert_error(client.post("/oauth/revoke", data={"token": "a\x00b"}, auth=web_app.basic),
                 "invalid_request", 400)
    challenge = {"mfa_token": "a\x00b", "challenge_type": "otp"}
    assert_error(client.post("/mfa/challenge", data=challenge, auth=web_app.basic),
                 "invalid_request", 400)


def test_a_path_segment_of_the_mfa_api(client: FlaskClient, web_app: RegisteredClient,
                                       user: Any) -> None:
    answer = client.delete("/mfa/authenticators/a%00b",
                           headers=bearer(access_token(client, web_app)))
    described = assert_error(answer, "invalid_request", 400)
    assert described["error_description"] == "The URL path must not contain control characters."


@pytest.mark.parametrize("url", [
    "/api/v2/users?q=%00", "/api/v2/users/a%00b", "/api/v2/users/a%1Fb/authenticators",
    "/api/v2/audit-events?user_id=%00", "/api/v2/audit-events?type=a%7F", "/api/v2/clients/a%00b",
])
def test_management_api_urls(client: FlaskClient, machine: RegisteredClient,  # noqa: F811
                             url: str) -> None:
    answer = client.get(url, headers=bearer(management_token(client, machine)))
    assert_error(answer, "invalid_request", 400)


def test_management_api_bodies_keep_nothing(
        client: FlaskClient, machine: RegisteredClient, user: Any) -> None:  # noqa: F811
    ops = bearer(management_token(client, machine))
    users = client.get("/api/v2/users?q=ann", headers=ops).get_json()["users"]
    user_id = users[0]["user_id"]
    patched = client.patch(f"/api/v2/users/{user_id}", json={"email": "a\x00b@example.com"},
                           headers=ops)
    assert_error(patched, "invalid_request", 400)
    assert client.get(f"/api/v2/users/{user_id}", headers=ops).get_json()["email"] == (
        "ann@example.org")
    before = client.get("/api/v2/clients", headers=ops).get_json()
    assert_error(client.post("/api/v2/clients", json={"name": "a\x00b"}, headers=ops),
                 "invalid_request", 400)
    assert client.get("/api/v2/clients", headers=ops).get_json() == before


def test_free_text_may_hold_tabs_and_line_breaks(
        client: FlaskClient, machine: RegisteredClient) -> None:  # noqa: F811
    ops = bearer(management_token(client, machine))
    made = client.post("/api/v2/clients", json={"name": "Shop\tfront\r\nEU"}, headers=ops)
    assert made.status_code == 201, made.get_data(as_text=True)


def test_dashboard_pages_answer_a_page(console: Console) -> None:  # noqa: F811
    answer = console.get("/users?q=%00")
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"
    assert "control characters" in answer.get_data(as_text=True)
