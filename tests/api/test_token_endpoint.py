"""The token endpoint's request handling and every error of the API reference it can produce here.

Grant-specific behaviour is in test_password_grant, test_refresh_grant, test_client_credentials.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import RegisteredClient, assert_error, password_login, token

PASSWORD = {"grant_type": "password", "username": "ann@example.org",
            "password": "correct horse battery"}


def test_form_body_gets_tokens(client: FlaskClient, user: Any, web_app: RegisteredClient) -> None:
    response = password_login(client, web_app)
    assert response.status_code == 200
    assert response.get_json()["token_type"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"


def test_json_body_gets_tokens(client: FlaskClient, user: Any, web_app: RegisteredClient) -> None:
    body = {**PASSWORD, "client_id": web_app.client_id, "client_secret": web_app.client_secret}
    response = client.post("/oauth/token", json=body)
    assert response.status_code == 200, response.get_json()


def test_client_secret_post_authenticates(client: FlaskClient, user: Any,
                                          web_app: RegisteredClient) -> None:
    response = token(client, {**PASSWORD, "client_id": web_app.client_id,
                              "client_secret": web_app.client_secret or ""})
    assert response.status_code == 200


def test_public_client_authenticates_with_its_client_id(
    client: FlaskClient, user: Any, make_client: Any,
) -> None:
    public = make_client(public=True)
    assert public.client_secret is None
    response = token(client, {**PASSWORD, "client_id": public.client_id})
    assert response.status_code == 200


def test_query_string_parameters_are_ignored(client: FlaskClient, user: Any,
                                             web_app: RegisteredClient) -> None:
    """Credentials in a URL end up in logs; only the body counts (RFC 6749 §3.2)."""
    response = client.post("/oauth/token?username=ann@example.org&password=x",
                           data={"grant_type": "password"}, auth=web_app.basic)
    assert_error(response, "invalid_request", 400)


@pytest.mark.parametrize(("data", "fragment"), [
    ({}, "grant_type"),
    ({"grant_type": "password", "password": "x"}, "username"),
    ({"grant_type": "password", "username": "ann@example.org"}, "password"),
    ({"grant_type": "refresh_token"}, "refresh_token"),
])
def test_missing_parameter_is_invalid_request(client: FlaskClient, web_app: RegisteredClient,
                                              data: dict[str, str], fragment: str) -> None:
    body = assert_error(token(client, data, auth=web_app.basic), "invalid_request", 400)
    assert fragment in body["error_description"]


def test_repeated_parameter_is_invalid_request(client: FlaskClient, user: Any,
                                               web_app: RegisteredClient) -> None:
    form = "grant_type=password&username=ann@example.org&password=a&password=b"
    response = client.post("/oauth/token", data=form, auth=web_app.basic,
                           content_type="application/x-www-form-urlencoded")
    body = assert_error(response, "invalid_request", 400)
    assert "password" in body["error_description"]


def test_repeated_json_member_is_invalid_request(client: FlaskClient,
                                                 web_app: RegisteredClient) -> None:
    payload = '{"grant_type": "password", "username": "a@example.org", "username": "b@x.org"}'
    response = client.post("/oauth/token", data=payload, content_type="application/json",
                           auth=web_app.basic)
    body = assert_error(response, "invalid_request", 400)
    assert "username" in body["error_description"]


@pytest.mark.parametrize(("payload", "content_type"), [
    ("{not json", "application/json"),
    ('["grant_type", "password"]', "application/json"),
    ('{"grant_type": "password", "username": 12}', "application/json"),
    (b"\xff\xfe{}", "application/json"),
    ("[" * 30_000, "application/json"),
    ("grant_type=password", "text/plain"),
    ("--x\r\nContent-Disposition: form-data; name=grant_type\r\n\r\npassword\r\n--x--",
     "multipart/form-data; boundary=x"),
])
def test_malformed_body_is_invalid_request(client: FlaskClient, web_app: RegisteredClient,
                                           payload: str, content_type: str) -> None:
    response = client.post("/oauth/token", data=payload, content_type=content_type,
                           auth=web_app.basic)
    assert_error(response, "invalid_request", 400)


def test_two_client_authentication_methods_at_once_is_invalid_request(
    client: FlaskClient, user: Any, web_app: RegisteredClient,
) -> None:
    response = token(client, {**PASSWORD, "client_secret": web_app.client_secret or ""},
                     auth=web_app.basic)
    assert_error(response, "invalid_request", 400)


def test_basic_with_another_client_id_in_the_body_is_invalid_request(
    client: FlaskClient, user: Any, web_app: RegisteredClient, make_client: Any,
) -> None:
    other = make_client(name="Other app")
    response = token(client, {**PASSWORD, "client_id": other.client_id}, auth=web_app.basic)
    assert_error(response, "invalid_request", 400)
    same = token(client, {**PASSWORD, "client_id": web_app.client_id}, auth=web_app.basic)
    assert same.status_code == 200  # naming the same client twice is harmless


def test_failed_basic_credentials_never_fall_back_to_a_public_client(
    client: FlaskClient, user: Any, make_client: Any,
) -> None:
    public = make_client(public=True)
    response = client.post("/oauth/token", data={**PASSWORD, "client_id": public.client_id},
                           headers=_basic(public.client_id, "guessed"))
    assert_error(response, "invalid_client", 401)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.mark.parametrize("case", ["wrong secret basic", "wrong secret post", "unknown client",
                                  "no credentials", "confidential without secret"])
def test_failed_client_authentication_is_invalid_client_401(
    client: FlaskClient, user: Any, web_app: RegisteredClient, case: str,
) -> None:
    kwargs: dict[str, Any] = {
        "wrong secret basic": {"headers": _basic(web_app.client_id, "wrong")},
        "wrong secret post": {"data": {"client_id": web_app.client_id, "client_secret": "x"}},
        "unknown client": {"headers": _basic("nobody", "x")},
        "no credentials": {},
        "confidential without secret": {"data": {"client_id": web_app.client_id}},
    }[case]
    data = {**PASSWORD, **kwargs.pop("data", {})}
    response = client.post("/oauth/token", data=data, **kwargs)
    assert_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_grant_outside_the_clients_allow_list_is_unauthorized_client(
    client: FlaskClient, user: Any, make_client: Any,
) -> None:
    refresh_only = make_client(grant_types=["refresh_token"])
    response = token(client, PASSWORD, auth=refresh_only.basic)
    assert_error(response, "unauthorized_client", 400)


def test_unknown_grant_type_is_unsupported_grant_type(client: FlaskClient,
                                                      web_app: RegisteredClient) -> None:
    response = token(client, {"grant_type": 'urn:example:"odd"'}, auth=web_app.basic)
    body = assert_error(response, "unsupported_grant_type", 400)
    assert "password" in body["error_description"]  # says what is supported


@pytest.mark.parametrize("scope", ["openid  email", "openid\"", "openid read:users"])
def test_malformed_or_management_scope_is_invalid_scope(client: FlaskClient, user: Any,
                                                        web_app: RegisteredClient,
                                                        scope: str) -> None:
    assert_error(password_login(client, web_app, scope=scope), "invalid_scope", 400)


@pytest.mark.parametrize(("asked", "granted"), [
    ("openid admin", "openid"),  # unknown: left out (RFC 6749 §3.3)
    ("", "openid"),  # sent empty: as if omitted (RFC 6749 §3.2), the default
    ("openid profile email phone offline_access", "openid profile email phone offline_access"),
])
def test_unknown_scopes_are_left_out_and_oidc_scopes_granted(
        client: FlaskClient, user: Any, web_app: RegisteredClient, asked: str,
        granted: str) -> None:
    response = password_login(client, web_app, scope=asked)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scope"] == granted


def test_oversized_body_is_refused(client: FlaskClient, web_app: RegisteredClient) -> None:
    response = token(client, {**PASSWORD, "password": "x" * 70_000}, auth=web_app.basic)
    assert_error(response, "invalid_request", 413)


def test_get_is_not_allowed(client: FlaskClient) -> None:
    response = client.get("/oauth/token")
    assert_error(response, "invalid_request", 405)
    assert "POST" in response.headers["Allow"]
