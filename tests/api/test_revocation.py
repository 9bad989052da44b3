"""POST /oauth/revoke (RFC 7009): refresh-token families and access tokens."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from authserver.tokens.access import LIST_LOST
from tests.conftest import RegisteredClient, assert_error, password_login, token


def revoke(client: FlaskClient, app_client: RegisteredClient, value: str) -> Any:
    return client.post("/oauth/revoke", data={"token": value}, auth=app_client.basic)


def userinfo(client: FlaskClient, access_token: str) -> Any:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture
def login(client: FlaskClient, user: Any, web_app: RegisteredClient) -> dict[str, Any]:
    return password_login(client, web_app).get_json()


def test_revoking_a_refresh_token_revokes_its_family(client: FlaskClient,
                                                     web_app: RegisteredClient,
                                                     login: dict[str, Any]) -> None:
    rotated = token(client, {"grant_type": "refresh_token",
                             "refresh_token": login["refresh_token"]}, auth=web_app.basic)
    successor = rotated.get_json()["refresh_token"]
    response = revoke(client, web_app, successor)
    assert (response.status_code, response.get_json()) == (200, {})
    again = token(client, {"grant_type": "refresh_token", "refresh_token": successor},
                  auth=web_app.basic)
    assert_error(again, "invalid_grant", 400)


def test_revoking_an_access_token_stops_userinfo(client: FlaskClient,
                                                 web_app: RegisteredClient,
                                                 login: dict[str, Any]) -> None:
    assert userinfo(client, login["access_token"]).status_code == 200
    assert revoke(client, web_app, login["access_token"]).status_code == 200
    assert_error(userinfo(client, login["access_token"]), "invalid_token", 401)


@pytest.mark.parametrize("value", ["unknown-token", "a.b.c", "x" * 300])
def test_unknown_tokens_get_200(client: FlaskClient, web_app: RegisteredClient,
                                value: str) -> None:
    assert revoke(client, web_app, value).status_code == 200


def test_another_clients_tokens_get_200_and_stay_valid(
    client: FlaskClient, make_client: Any, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    other = make_client(name="Other app")
    assert revoke(client, other, login["refresh_token"]).status_code == 200
    assert revoke(client, other, login["access_token"]).status_code == 200
    assert userinfo(client, login["access_token"]).status_code == 200
    again = token(client, {"grant_type": "refresh_token",
                           "refresh_token": login["refresh_token"]}, auth=web_app.basic)
    assert again.status_code == 200


def test_a_public_client_revokes_with_its_client_id(client: FlaskClient, user: Any,
                                                    make_client: Any) -> None:
    public = make_client(public=True)
    body = token(client, {"grant_type": "password", "username": "ann@example.org",
                          "password": "correct horse battery",
                          "client_id": public.client_id}).get_json()
    response = client.post("/oauth/revoke", data={"token": body["refresh_token"],
                                                  "client_id": public.client_id})
    assert response.status_code == 200
    again = token(client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                           "client_id": public.client_id})
    assert_error(again, "invalid_grant", 400)


def test_missing_token_is_invalid_request(client: FlaskClient,
                                          web_app: RegisteredClient) -> None:
    response = client.post("/oauth/revoke", data={}, auth=web_app.basic)
    assert_error(response, "invalid_request", 400)


def test_client_authentication_is_required(client: FlaskClient, login: dict[str, Any]) -> None:
    response = client.post("/oauth/revoke", data={"token": login["refresh_token"]})
    assert_error(response, "invalid_client", 401)


def test_a_revocation_list_that_lost_its_entries_refuses_the_tokens_issued_before(
    client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any], redis_url: str,
    redis_prefix: str,
) -> None:
    """Redis came back empty (a restart without persistence): a revoked token must not become
    valid again, so every token older than the loss is refused; newer ones pass."""
    assert revoke(client, web_app, login["access_token"]).status_code == 200
    store = redis.Redis.from_url(redis_url)
    store.delete(*store.scan_iter(f"{redis_prefix}*"))  # every key of this server, as if empty
    refused = assert_error(userinfo(client, login["access_token"]), "invalid_token", 401)
    assert refused["error_description"] == LIST_LOST
    renewed = token(client, {"grant_type": "refresh_token",
                             "refresh_token": login["refresh_token"]}, auth=web_app.basic)
    assert renewed.status_code == 200, renewed.get_json()
    assert userinfo(client, renewed.get_json()["access_token"]).status_code == 200
