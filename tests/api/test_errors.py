"""Errors answered in one place: JSON bodies, no internals, 503 when a dependency is down."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from authserver.encryption import Encryptor
from authserver.tokens.keys import OUTAGE_RETRY, KeyRing
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    assert_error,
    bearer,
    mfa_grant,
    mfa_token,
    password_login,
    token,
)
from tests.support import TEST_ENCRYPTION_KEY, TcpProxy, free_port


def test_unknown_path_is_json_404(client: Any) -> None:
    assert_error(client.get("/nowhere"), "not_found", 404)


def test_an_unexpected_exception_is_a_generic_500_and_a_logged_trace(
    app: Flask, caplog: pytest.LogCaptureFixture,
) -> None:
    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="authserver.errors"):
        response = app.test_client().get("/explode")
    body = assert_error(response, "server_error", 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert body["error_description"] == "The server could not complete the request."
    assert "secret internal detail" in caplog.text  # the operator still learns what happened


def test_liveness_touches_nothing(client: Any) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}


def test_readiness_checks_database_and_redis(client: Any) -> None:
    assert client.get("/health/ready").get_json() == {"status": "ok"}


def _assert_unavailable_and_no_token(response: Any) -> None:
    body = assert_error(response, "temporarily_unavailable", 503)
    assert "access_token" not in body
    assert int(response.headers["Retry-After"]) > 0


def test_redis_down_fails_closed_for_every_grant(
    client: Any, make_app: Callable[..., Flask], user: Any, make_client: Any,
) -> None:
    machine = make_client(grant_types=["password", "refresh_token", "client_credentials"])
    refresh_token = password_login(client, machine).get_json()["refresh_token"]
    down = make_app(PROTEKT_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    for data in ({"grant_type": "password", "username": "ann@example.org",
                  "password": "correct horse battery"},
                 {"grant_type": "refresh_token", "refresh_token": refresh_token},
                 {"grant_type": "client_credentials"}):
        _assert_unavailable_and_no_token(token(down, data, auth=machine.basic))
    _assert_unavailable_and_no_token(down.get("/health/ready"))
    assert token(client, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                 auth=machine.basic).status_code == 200  # nothing was spent meanwhile


def test_redis_down_fails_closed_for_the_mfa_flow(
    client: Any, make_app: Callable[..., Flask], web_app: RegisteredClient,
    mfa_user: EnrolledUser,
) -> None:
    ticket = mfa_token(client, web_app)
    strong = mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app),
                       otp=mfa_user.device.next_code()).get_json()["access_token"]
    down = make_app(PROTEKT_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    _assert_unavailable_and_no_token(password_login(down, web_app))
    for kind, params in (("mfa-otp", {"otp": "123456"}),
                         ("mfa-recovery-code", {"recovery_code": mfa_user.recovery_codes[0]})):
        _assert_unavailable_and_no_token(mfa_grant(down, web_app, kind, mfa_token=ticket,
                                                   **params))
    _assert_unavailable_and_no_token(down.post(
        "/mfa/challenge", auth=web_app.basic, data={"mfa_token": ticket, "challenge_type": "otp"}))
    _assert_unavailable_and_no_token(down.get("/mfa/authenticators", headers=bearer(ticket)))
    _assert_unavailable_and_no_token(down.post("/mfa/associate", json={"type": "otp"},
                                               headers=bearer(strong)))
    # nothing was spent meanwhile: the mfa_token and the recovery code still work
    response = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=ticket,
                         recovery_code=mfa_user.recovery_codes[0])
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_database_down_fails_closed_and_recovers(
    make_app: Callable[..., Flask], user: Any, web_app: RegisteredClient,
    proxied_postgres: tuple[TcpProxy, str],
) -> None:
    proxy, url = proxied_postgres
    app = make_app(PROTEKT_DATABASE_URL=url)
    client = app.test_client()
    assert password_login(client, web_app).status_code == 200
    proxy.cut()
    _assert_unavailable_and_no_token(password_login(client, web_app))
    _assert_unavailable_and_no_token(client.get("/health/ready"))
    proxy.start()
    assert password_login(client, web_app).status_code == 200


def test_the_jwks_outlives_a_database_outage_and_signing_fails_closed(
    postgres_url: str, proxied_postgres: tuple[TcpProxy, str],
) -> None:
    """The process holds its keys: while the database is down, the JWKS goes on publishing them
    (resource servers keep verifying), reloads are tried OUTAGE_RETRY apart, and signing, which
    must see every rotation, fails closed; on recovery both work again."""
    proxy, url = proxied_postgres
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                              poolclass=NullPool, connect_args={"connect_timeout": 2})
    now = [0.0]
    ring = KeyRing(sessionmaker(engine), Encryptor((base64.urlsafe_b64decode(
        TEST_ENCRYPTION_KEY),)), "RS256", timedelta(minutes=15), 30, clock=lambda: now[0])
    kid = ring.active_key().kid  # made on first use
    published = ring.jwks()
    assert kid in {key["kid"] for key in published["keys"]}
    proxy.cut()
    now[0] += 31  # a reload is due
    assert ring.jwks() == published
    now[0] += OUTAGE_RETRY / 2  # not tried again yet: no wait on the dead database
    assert ring.jwks() == published
    with pytest.raises(sa.exc.OperationalError):
        ring.active_key()
    proxy.start()
    now[0] += 31
    assert ring.active_key().kid == kid
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_database_down_fails_closed_for_every_grant_and_spends_nothing(
    make_app: Callable[..., Flask], make_user: Callable[..., Any], mfa_user: EnrolledUser,
    web_app: RegisteredClient, proxied_postgres: tuple[TcpProxy, str],
) -> None:
    """The drill of the database cut on each grant, the challenge, revocation and userinfo:
    each answer is a 503 with Retry-After and no token; once the database is back, the very same
    credentials work, so nothing was spent or half-written meanwhile."""
    proxy, url = proxied_postgres
    client = make_app(PROTEKT_DATABASE_URL=url).test_client()
    make_user("bob@example.org")  # no second factor: his login gives a refresh token
    login = password_login(client, web_app, username="bob@example.org").get_json()
    ticket = mfa_token(client, web_app)
    code = mfa_user.device.next_code()
    calls = {
        "refresh_token": lambda: token(client, {"grant_type": "refresh_token",
                                                "refresh_token": login["refresh_token"]},
                                       auth=web_app.basic),
        "mfa-otp": lambda: mfa_grant(client, web_app, "mfa-otp", mfa_token=ticket, otp=code),
        "challenge": lambda: client.post("/mfa/challenge", auth=web_app.basic,
                                         data={"mfa_token": ticket, "challenge_type": "otp"}),
        "userinfo": lambda: client.get("/userinfo", headers=bearer(login["access_token"])),
        "revoke": lambda: client.post("/oauth/revoke", auth=web_app.basic,
                                      data={"token": login["refresh_token"]}),
    }
    proxy.cut()
    for name, call in calls.items():
        answer = call()
        assert answer.status_code == 503, (name, answer.get_data(as_text=True))
        _assert_unavailable_and_no_token(answer)
    proxy.start()
    for name in ("challenge", "userinfo", "refresh_token", "mfa-otp"):  # the same credentials
        answer = calls[name]()
        assert answer.status_code == 200, (name, answer.get_data(as_text=True))


@pytest.mark.xfail(strict=True, reason=(
    "Known gap, left for a decision: client_credentials answers from the cached client (30 s at "
    "most) and the loaded keys, so for up to 30 s into a database outage it still issues "
    "tokens. Reading the client's row on each request closes it but cost 70 % of the grant's "
    "rate in bench_peer (1,135/s to 307/s, one process). README, Per request."))
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_client_credentials_fails_closed_while_the_database_is_down(
    make_app: Callable[..., Flask], make_client: Any, proxied_postgres: tuple[TcpProxy, str],
) -> None:
    proxy, url = proxied_postgres
    client = make_app(PROTEKT_DATABASE_URL=url).test_client()
    machine = make_client(grant_types=["client_credentials"])
    asked = {"grant_type": "client_credentials"}
    assert token(client, asked, auth=machine.basic).status_code == 200  # cached from here on
    proxy.cut()
    _assert_unavailable_and_no_token(token(client, asked, auth=machine.basic))
