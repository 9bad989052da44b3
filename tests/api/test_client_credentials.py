"""The client_credentials grant: confidential clients only, the client's own scopes, no user."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import assert_error, token, unverified

CC = {"grant_type": "client_credentials"}


def test_a_machine_client_gets_an_access_token_about_itself(client: FlaskClient,
                                                            make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"], scopes=["read:reports"],
                          audiences=["https://reports.example.com"])
    body = token(client, {**CC, "scope": "read:reports",
                          "audience": "https://reports.example.com"}, auth=machine.basic)
    body = body.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    header, claims = unverified(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == claims["client_id"] == machine.client_id  # RFC 9068 §2.2
    assert claims["aud"] == "https://reports.example.com"
    assert claims["scope"] == "read:reports"
    assert "amr" not in claims and "auth_time" not in claims


def test_without_scope_the_token_has_none(client: FlaskClient, make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"], scopes=["read:reports"])
    body = token(client, CC, auth=machine.basic).get_json()
    assert body["scope"] == ""


def test_user_scopes_are_invalid_scope(client: FlaskClient, make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"], scopes=["openid", "read:reports"])
    assert_error(token(client, {**CC, "scope": "openid"}, auth=machine.basic),
                 "invalid_scope", 400)


def test_a_scope_outside_the_clients_list_is_invalid_scope(client: FlaskClient,
                                                           make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"], scopes=["read:reports"])
    assert_error(token(client, {**CC, "scope": "delete:reports"}, auth=machine.basic),
                 "invalid_scope", 400)


def test_a_client_without_the_grant_is_unauthorized_client(client: FlaskClient,
                                                           make_client: Any) -> None:
    web = make_client()
    assert_error(token(client, CC, auth=web.basic), "unauthorized_client", 400)


def test_a_client_id_alone_is_not_enough(client: FlaskClient, make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"])
    response = token(client, {**CC, "client_id": machine.client_id})
    assert_error(response, "invalid_client", 401)


def test_an_empty_scope_parameter_is_as_if_omitted(client: FlaskClient, make_client: Any) -> None:
    """RFC 6749 §3.2: a parameter sent without a value is treated as omitted."""
    machine = make_client(grant_types=["client_credentials"], scopes=["read:reports"])
    response = token(client, {**CC, "scope": ""}, auth=machine.basic)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scope"] == ""
