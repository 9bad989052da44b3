"""The password grant: tokens and their claims, same answer for unknown users, throttling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver.extensions import db, services
from authserver.models import AuditEvent, User
from tests.conftest import RegisteredClient, assert_error, password_login, token, unverified

ISSUER = "http://127.0.0.1:8000"


def test_success_returns_access_id_and_refresh_tokens(client: FlaskClient, user: Any,
                                                      web_app: RegisteredClient) -> None:
    body = password_login(client, web_app).get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token",
                         "refresh_token"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 900, "openid")


def test_access_token_is_an_rfc_9068_jwt(client: FlaskClient, user: Any,
                                         web_app: RegisteredClient) -> None:
    before = int(time.time())
    header, claims = unverified(password_login(client, web_app).get_json()["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == user.id
    assert claims["aud"] == ISSUER
    assert claims["client_id"] == web_app.client_id
    assert claims["scope"] == "openid"
    assert claims["exp"] - claims["iat"] == 900
    assert before <= claims["auth_time"] <= claims["iat"] <= before + 5
    assert claims["amr"] == ["pwd"]
    assert len(claims["jti"]) >= 16


def test_id_token_follows_oidc_core(client: FlaskClient, user: Any,
                                    web_app: RegisteredClient) -> None:
    header, claims = unverified(password_login(client, web_app).get_json()["id_token"])
    assert header["kid"] and header["alg"] == "RS256"
    assert claims["iss"] == ISSUER and claims["sub"] == user.id
    assert claims["aud"] == web_app.client_id
    assert claims["amr"] == ["pwd"] and claims["auth_time"] <= claims["iat"] < claims["exp"]
    assert (claims["email"], claims["email_verified"]) == ("ann@example.org", False)


def test_email_is_matched_regardless_of_case(client: FlaskClient, user: Any,
                                             web_app: RegisteredClient) -> None:
    assert password_login(client, web_app, username="ANN@Example.ORG").status_code == 200


def test_no_id_token_without_openid_scope(client: FlaskClient, user: Any,
                                          web_app: RegisteredClient) -> None:
    body = password_login(client, web_app, scope="email").get_json()
    assert "id_token" not in body and body["scope"] == "email"


def test_no_refresh_token_for_a_client_without_the_refresh_grant(
    client: FlaskClient, user: Any, make_client: Any,
) -> None:
    password_only = make_client(grant_types=["password"])
    assert "refresh_token" not in password_login(client, password_only).get_json()


def test_an_allowed_audience_is_added_beside_the_userinfo_audience(
    client: FlaskClient, user: Any, make_client: Any,
) -> None:
    api_client = make_client(audiences=["https://api.example.com"], scopes=["read:orders"])
    body = password_login(client, api_client, audience="https://api.example.com",
                          scope="openid read:orders").get_json()
    _, claims = unverified(body["access_token"])
    assert claims["aud"] == ["https://api.example.com", ISSUER]
    assert claims["scope"] == "openid read:orders"


@pytest.mark.parametrize("scope", ["enroll", "openid read:authenticators",
                                   "read:orders remove:authenticators"])
def test_factor_scopes_are_never_in_a_token_for_another_api(
    client: FlaskClient, user: Any, make_client: Any, scope: str,
) -> None:
    api_client = make_client(audiences=["https://api.example.com"], scopes=["read:orders"])
    response = password_login(client, api_client, audience="https://api.example.com",
                              scope=scope)
    body = assert_error(response, "invalid_scope", 400)
    assert "for Protekt's own /mfa endpoints" in body["error_description"]


def test_an_audience_the_client_may_not_use_is_access_denied(
    client: FlaskClient, user: Any, web_app: RegisteredClient,
) -> None:
    response = password_login(client, web_app, audience="https://bank.example.com")
    assert_error(response, "access_denied", 403)


@pytest.mark.parametrize("username", ["ann@example.org", "nobody@example.org"])
def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: FlaskClient, user: Any, web_app: RegisteredClient, username: str,
) -> None:
    response = password_login(client, web_app, username=username, password="wrong password")
    body = assert_error(response, "invalid_grant", 400)
    assert body["error_description"] == "Wrong email or password."


def test_a_hash_made_with_old_parameters_is_upgraded_at_login(
    make_app: Callable[..., Flask], make_client: Any, make_user: Any,
) -> None:
    old = make_user()
    assert "m=1024,t=1" in old.password_hash
    stronger = make_app(PROTEKT_ARGON2_MEMORY_KIB="2048", PROTEKT_ARGON2_TIME_COST="2")
    web = make_client()
    assert password_login(stronger.test_client(), web).status_code == 200
    with stronger.app_context():
        upgraded = db.session.get(User, old.id)
        assert upgraded is not None and "m=2048,t=2" in upgraded.password_hash
    assert password_login(stronger.test_client(), web).status_code == 200


def _events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.type == kind)))


def test_logins_are_audited_without_secrets(app: Flask, client: FlaskClient, user: Any,
                                            web_app: RegisteredClient) -> None:
    password_login(client, web_app)
    password_login(client, web_app, password="wrong password")
    success, = _events(app, "login.success")
    failure, = _events(app, "login.failure")
    assert (success.user_id, success.client_id, success.ip) == (user.id, web_app.client_id,
                                                                "127.0.0.1")
    assert failure.user_id == user.id
    assert "correct horse" not in str(success.detail) + str(failure.detail)


# Throttling (NIST SP 800-63B §5.2.2) -----------------------------------------------------------


@pytest.fixture
def strict_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(PROTEKT_LOGIN_ACCOUNT_FAILURES="3", PROTEKT_LOGIN_ACCOUNT_WINDOW="60",
                    PROTEKT_LOGIN_IP_FAILURES="5", PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES="4")


def _fail(client: FlaskClient, web: RegisteredClient, username: str = "ann@example.org",
          ip: str = "10.0.0.1") -> Any:
    return token(client, {"grant_type": "password", "username": username,
                          "password": "wrong password"},
                 auth=web.basic, environ_base={"REMOTE_ADDR": ip})


def test_after_the_account_limit_even_the_right_password_gets_429(
    strict_app: Flask, user: Any, web_app: RegisteredClient,
) -> None:
    client = strict_app.test_client()
    for _ in range(3):
        assert _fail(client, web_app).status_code == 400
    right = password_login(client, web_app)
    body = assert_error(right, "too_many_attempts", 429)
    assert 50 <= int(right.headers["Retry-After"]) <= 60
    assert assert_error(_fail(client, web_app), "too_many_attempts", 429) == body


def test_unknown_account_names_are_throttled_alike(strict_app: Flask,
                                                   web_app: RegisteredClient) -> None:
    """Else the 429 would tell which emails have accounts."""
    client = strict_app.test_client()
    for _ in range(3):
        assert _fail(client, web_app, username="nobody@example.org").status_code == 400
    assert _fail(client, web_app, username="nobody@example.org").status_code == 429


def test_a_success_inside_the_window_does_not_count(strict_app: Flask, user: Any,
                                                    web_app: RegisteredClient) -> None:
    client = strict_app.test_client()
    for _ in range(2):
        _fail(client, web_app)
    for _ in range(5):
        assert password_login(client, web_app).status_code == 200
    assert _fail(client, web_app).status_code == 400


def test_the_ip_limit_spans_accounts(strict_app: Flask, web_app: RegisteredClient) -> None:
    client = strict_app.test_client()
    for n in range(5):
        assert _fail(client, web_app, username=f"user{n}@example.org").status_code == 400
    response = _fail(client, web_app, username="fresh@example.org")
    assert_error(response, "too_many_attempts", 429)
    other_ip = _fail(client, web_app, username="fresh@example.org", ip="10.0.0.2")
    assert other_ip.status_code == 400


def test_attempts_refused_by_a_window_do_not_count_toward_the_lock(
    make_app: Callable[..., Flask], user: Any, web_app: RegisteredClient,
) -> None:
    """Else anyone could lock an account for good with 101 quick requests."""
    app = make_app(PROTEKT_LOGIN_ACCOUNT_FAILURES="3", PROTEKT_LOGIN_ACCOUNT_WINDOW="1",
                   PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES="4")
    client = app.test_client()
    for _ in range(3):
        assert _fail(client, web_app).status_code == 400
    for _ in range(20):
        assert _fail(client, web_app).status_code == 429  # refused by the window
    time.sleep(1.1)  # the window ends; 3 failures in a row so far, the lock is at 4
    assert password_login(client, web_app).status_code == 200


def test_consecutive_failures_lock_the_account_until_an_operator_unlocks_it(
    make_app: Callable[..., Flask], user: Any, web_app: RegisteredClient,
) -> None:
    """Whatever the windows allow, an account never sees more than N failures in a row."""
    app = make_app(PROTEKT_LOGIN_ACCOUNT_FAILURES="50", PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES="4")
    client = app.test_client()
    for n in range(4):
        assert _fail(client, web_app, ip=f"10.1.0.{n}").status_code == 400
    assert_error(password_login(client, web_app), "too_many_attempts", 429)
    assert_error(_fail(client, web_app, ip="10.9.9.9"), "too_many_attempts", 429)
    assert _events(app, "login.throttled")[0].detail == {"limits": ["login-consecutive"]}
    with app.app_context():
        services.login.unlock(services.users.find_by_email("ann@example.org"))
    assert password_login(client, web_app).status_code == 200
