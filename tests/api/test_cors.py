"""Browser apps on listed origins may call the browser endpoints; nobody else, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

APP_ORIGIN = "https://app.example.com"


@pytest.fixture
def browser_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(PROTEKT_CORS_ORIGINS=f"{APP_ORIGIN},http://127.0.0.1:3000")


@pytest.mark.parametrize("path", ["/oauth/token", "/mfa/challenge", "/mfa/authenticators/x",
                                  "/userinfo", "/oauth/revoke"])
def test_a_preflight_from_a_listed_origin_is_answered(browser_app: Flask, path: str) -> None:
    response = browser_app.test_client().options(path, headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_answer_names_the_origin_and_exposes_retry_after(browser_app: Flask) -> None:
    response = browser_app.test_client().post(
        "/oauth/token", data={"grant_type": "password"}, headers={"Origin": APP_ORIGIN})
    assert response.status_code in (400, 401)
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "Retry-After, WWW-Authenticate"
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize("origin", ["https://evil.example", "https://app.example.com.evil.example",
                                    "http://app.example.com", "null"])
def test_other_origins_are_not_named(browser_app: Flask, origin: str) -> None:
    client = browser_app.test_client()
    preflight = client.options("/oauth/token", headers={"Origin": origin,
                                                        "Access-Control-Request-Method": "POST"})
    answer = client.get("/.well-known/openid-configuration", headers={"Origin": origin})
    for response in (preflight, answer):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Methods" not in response.headers


@pytest.mark.parametrize("path", ["/health", "/userinfo-admin", "/oauth/authorize",
                                  "/.well-known/other", "/api/v2/users", "/dashboard"])
def test_endpoints_browsers_do_not_need_stay_closed(browser_app: Flask, path: str) -> None:
    response = browser_app.test_client().get(path, headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_without_listed_origins_nothing_is_named(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().post("/oauth/token", headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
