"""The refresh_token grant: rotation, reuse revokes the family, scope narrowing, lifetimes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from authserver.errors import InvalidGrant
from authserver.extensions import db, services
from authserver.models import AuditEvent, RefreshToken, RefreshTokenFamily
from authserver.models.base import utcnow
from authserver.tokens.issuer import TokenRequest
from tests.conftest import (
    RegisteredClient,
    assert_error,
    bearer,
    password_login,
    token,
    unverified,
)


def refresh(client: FlaskClient, app_client: RegisteredClient, refresh_token: str,
            **extra: str) -> Any:
    return token(client, {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
                 auth=app_client.basic)


@pytest.fixture
def login(client: FlaskClient, user: Any, web_app: RegisteredClient) -> dict[str, Any]:
    return password_login(client, web_app, scope="openid email").get_json()


def test_refresh_rotates_and_keeps_what_the_login_granted(
    client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    body = refresh(client, web_app, login["refresh_token"]).get_json()
    assert body["refresh_token"] != login["refresh_token"]
    assert body["scope"] == "openid email" and "id_token" in body
    _, first = unverified(login["access_token"])
    _, second = unverified(body["access_token"])
    assert second["auth_time"] == first["auth_time"]
    assert second["amr"] == ["pwd"] and second["sub"] == first["sub"]
    assert second["jti"] != first["jti"]


def test_the_rotated_token_goes_on_working(client: FlaskClient, web_app: RegisteredClient,
                                           login: dict[str, Any]) -> None:
    current = login["refresh_token"]
    for _ in range(3):
        response = refresh(client, web_app, current)
        assert response.status_code == 200
        current = response.get_json()["refresh_token"]


def test_reuse_of_a_rotated_token_revokes_the_whole_family(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    first = refresh(client, web_app, login["refresh_token"]).get_json()["refresh_token"]
    successor = refresh(client, web_app, first).get_json()["refresh_token"]
    reused = refresh(client, web_app, login["refresh_token"])
    body = assert_error(reused, "invalid_grant", 400)
    assert "revoked" in body["error_description"]
    assert_error(refresh(client, web_app, successor), "invalid_grant", 400)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.type == "refresh_token.family_revoked"))
        assert event is not None and event.detail == {"reason": "reuse"}


def userinfo(client: FlaskClient, access_token: str) -> Any:
    return client.get("/userinfo", headers=bearer(access_token))


def test_reuse_detection_revokes_the_logins_access_tokens_too(
    client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    """RFC 9700 §4.14.2: a thief's access tokens must not outlive the detection, at /userinfo
    and /mfa/* alike; another login of the same user goes on."""
    login, other = (password_login(client, web_app, scope="openid read:authenticators")
                    .get_json() for _ in range(2))
    later = refresh(client, web_app, login["refresh_token"]).get_json()
    later = refresh(client, web_app, later["refresh_token"]).get_json()
    for working in (login["access_token"], later["access_token"]):
        assert userinfo(client, working).status_code == 200
        assert client.get("/mfa/authenticators", headers=bearer(working)).status_code == 200
    assert_error(refresh(client, web_app, login["refresh_token"]), "invalid_grant", 400)
    for revoked in (login["access_token"], later["access_token"]):
        body = assert_error(userinfo(client, revoked), "invalid_token", 401)
        assert body["error_description"] == "The access token has been revoked."
        assert_error(client.get("/mfa/authenticators", headers=bearer(revoked)),
                     "invalid_token", 401)
    assert userinfo(client, other["access_token"]).status_code == 200
    _, claims = unverified(later["access_token"])
    assert claims["login_id"] != unverified(other["access_token"])[1]["login_id"]


def test_revoking_a_refresh_token_revokes_its_logins_access_tokens(
    client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    """RFC 7009 §2.1: the access tokens based on the same grant go with the refresh token."""
    revoked = client.post("/oauth/revoke", data={"token": login["refresh_token"]},
                          auth=web_app.basic)
    assert revoked.status_code == 200
    assert_error(userinfo(client, login["access_token"]), "invalid_token", 401)


def rotated_ago(app: Flask, seconds: int) -> None:
    """Every rotated token was rotated that long ago (the clock moved on)."""
    with app.app_context():
        db.session.execute(update(RefreshToken).where(RefreshToken.rotated_at.is_not(None))
                           .values(rotated_at=utcnow() - timedelta(seconds=seconds)))
        db.session.commit()


def test_a_lost_answer_retried_within_the_grace_gets_new_tokens(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    """The rotation committed, its answer was lost: the client presents the same token again."""
    lost = refresh(client, web_app, login["refresh_token"]).get_json()
    rotated_ago(app, 29)
    retried = refresh(client, web_app, login["refresh_token"])
    assert retried.status_code == 200, retried.get_data(as_text=True)
    fresh = retried.get_json()
    assert fresh["refresh_token"] not in (lost["refresh_token"], login["refresh_token"])
    assert client.get("/userinfo", headers=bearer(fresh["access_token"])).status_code == 200
    following = refresh(client, web_app, fresh["refresh_token"])
    assert following.status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.type == "refresh_token.retried"))
        assert event is not None and event.client_id == web_app.client_id
    # The lost successor was retired by the retry: presented now that its own successor is used,
    # it is reuse, and the login ends.
    assert_error(refresh(client, web_app, lost["refresh_token"]), "invalid_grant", 400)
    assert_error(refresh(client, web_app, following.get_json()["refresh_token"]),
                 "invalid_grant", 400)


def test_a_retry_after_the_grace_is_reuse(
    app: Flask, client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    lost = refresh(client, web_app, login["refresh_token"]).get_json()
    rotated_ago(app, 31)
    assert_error(refresh(client, web_app, login["refresh_token"]), "invalid_grant", 400)
    assert_error(refresh(client, web_app, lost["refresh_token"]), "invalid_grant", 400)


def test_a_second_retry_after_the_successor_was_used_is_reuse(
    client: FlaskClient, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    successor = refresh(client, web_app, login["refresh_token"]).get_json()["refresh_token"]
    newest = refresh(client, web_app, successor).get_json()["refresh_token"]
    assert_error(refresh(client, web_app, login["refresh_token"]), "invalid_grant", 400)
    assert_error(refresh(client, web_app, newest), "invalid_grant", 400)


def test_a_retry_by_another_client_is_refused_and_revokes_nothing(
    client: FlaskClient, web_app: RegisteredClient, make_client: Any,
    login: dict[str, Any],
) -> None:
    successor = refresh(client, web_app, login["refresh_token"]).get_json()["refresh_token"]
    other = make_client(name="Other")
    assert_error(refresh(client, other, login["refresh_token"]), "invalid_grant", 400)
    assert refresh(client, web_app, successor).status_code == 200


def test_without_a_grace_every_second_use_is_reuse(make_app: Any, user: Any) -> None:
    app = make_app(PROTEKT_REFRESH_TOKEN_RETRY_GRACE="0")
    client = app.test_client()
    with app.app_context():
        made, secret = services.flows.client_administration.create("Strict")
    strict = RegisteredClient(made.client_id, secret)
    first = password_login(client, strict).get_json()
    successor = refresh(client, strict, first["refresh_token"]).get_json()["refresh_token"]
    assert_error(refresh(client, strict, first["refresh_token"]), "invalid_grant", 400)
    assert_error(refresh(client, strict, successor), "invalid_grant", 400)


def test_a_revocation_between_the_check_and_the_rotation_wins(
    app: Flask, web_app: RegisteredClient, login: dict[str, Any],
) -> None:
    """Another request revokes the family after this one checked the token: no tokens."""
    with app.app_context():
        client = services.clients.find(web_app.client_id)
        assert client is not None
        record, user = services.refresh_tokens.redeemable(login["refresh_token"], client, None)
        with db.engine.begin() as elsewhere:  # a concurrent revocation, committed
            elsewhere.execute(update(RefreshTokenFamily).values(revoked_at=utcnow()))
        request = TokenRequest(client, ("openid",), ())
        with pytest.raises(InvalidGrant, match="revoked"):
            services.issuer.refreshed(record, user, request, None)


def test_a_narrower_scope_may_be_asked_for(client: FlaskClient, web_app: RegisteredClient,
                                           login: dict[str, Any]) -> None:
    narrow = refresh(client, web_app, login["refresh_token"], scope="email").get_json()
    assert narrow["scope"] == "email" and "id_token" not in narrow
    full = refresh(client, web_app, narrow["refresh_token"]).get_json()
    assert full["scope"] == "openid email"  # the grant itself did not shrink


def test_a_wider_scope_is_invalid_scope_and_costs_nothing(
    client: FlaskClient, make_client: Any, user: Any,
) -> None:
    api = make_client(scopes=["read:orders"])
    login = password_login(client, api).get_json()
    widened = refresh(client, api, login["refresh_token"], scope="openid read:orders")
    assert_error(widened, "invalid_scope", 400)
    assert refresh(client, api, login["refresh_token"]).status_code == 200


def test_another_clients_token_is_invalid_grant_and_costs_its_owner_nothing(
    client: FlaskClient, web_app: RegisteredClient, make_client: Any, login: dict[str, Any],
) -> None:
    other = make_client(name="Other app")
    assert_error(refresh(client, other, login["refresh_token"]), "invalid_grant", 400)
    assert refresh(client, web_app, login["refresh_token"]).status_code == 200


def test_an_unknown_token_is_invalid_grant(client: FlaskClient,
                                           web_app: RegisteredClient) -> None:
    assert_error(refresh(client, web_app, "not-a-token"), "invalid_grant", 400)


@pytest.mark.parametrize("lifetime", ["idle", "absolute"])
def test_an_expired_token_is_invalid_grant(app: Flask, client: FlaskClient,
                                           web_app: RegisteredClient, login: dict[str, Any],
                                           lifetime: str) -> None:
    past = utcnow() - timedelta(seconds=1)
    model = RefreshToken if lifetime == "idle" else RefreshTokenFamily
    with app.app_context():
        db.session.execute(update(model).values(expires_at=past))
        db.session.commit()
    body = assert_error(refresh(client, web_app, login["refresh_token"]), "invalid_grant", 400)
    assert "expired" in body["error_description"]


def test_a_new_token_never_outlives_its_family(app: Flask, client: FlaskClient,
                                               web_app: RegisteredClient,
                                               login: dict[str, Any]) -> None:
    soon = utcnow() + timedelta(minutes=5)
    with app.app_context():
        db.session.execute(update(RefreshTokenFamily).values(expires_at=soon))
        db.session.commit()
    refresh(client, web_app, login["refresh_token"])
    with app.app_context():
        newest = db.session.scalar(select(RefreshToken).where(RefreshToken.rotated_at.is_(None)))
        assert newest is not None and newest.expires_at <= soon


def test_refresh_is_unauthorized_for_a_client_without_the_grant(
    client: FlaskClient, make_client: Any, user: Any, login: dict[str, Any],
) -> None:
    password_only = make_client(grant_types=["password"])
    response = refresh(client, password_only, login["refresh_token"])
    assert_error(response, "unauthorized_client", 400)
