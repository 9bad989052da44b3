"""The hosted pages when Redis or the database goes away in the middle of a sign-in: each page
answers 503 with Retry-After (an HTML page, never a redirect to the app, never a code), nothing
is half-written (the password attempt and the second factor's code are not spent), and the same
browser finishes the sign-in as soon as the service is back. Each outage is a proxy in front of
the real service, cut and restored (tests.support.TcpProxy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import EnrolledUser, RegisteredClient
from tests.hosted.conftest import PASSWORD, Browser, Request, back_at_app, exchange
from tests.support import TcpProxy

SERVICES = {"redis": ("proxied_redis", "PROTEKT_REDIS_URL"),
            "database": ("proxied_postgres", "PROTEKT_DATABASE_URL")}


def unavailable_page(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "text/html"
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert "Location" not in response.headers


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("service", list(SERVICES))
def test_a_sign_in_survives_an_outage_at_every_step(
    request: pytest.FixtureRequest, make_app: Callable[..., Flask], rp: RegisteredClient,
    mfa_user: EnrolledUser, service: str,
) -> None:
    fixture, setting = SERVICES[service]
    proxy, url = request.getfixturevalue(fixture)
    assert isinstance(proxy, TcpProxy)
    app = make_app(**{setting: url})
    browser, sign_in = Browser(app.test_client()), Request(rp)

    proxy.cut()
    unavailable_page(browser.authorize(sign_in))
    proxy.start()
    page = browser.follow(browser.authorize(sign_in))
    assert page.status_code == 200, page.get_data(as_text=True)

    proxy.cut()
    unavailable_page(browser.submit(page, "/signin", email="ann@example.org",
                                    password=PASSWORD))
    proxy.start()
    mfa_page = browser.follow(browser.submit(page, "/signin", email="ann@example.org",
                                             password=PASSWORD))
    assert 'autocomplete="one-time-code"' in mfa_page.get_data(as_text=True)

    code = mfa_user.device.next_code()
    proxy.cut()
    unavailable_page(browser.submit(mfa_page, "/signin/mfa", factor="otp", code=code))
    proxy.start()
    answer = back_at_app(browser.follow(browser.submit(mfa_page, "/signin/mfa", factor="otp",
                                                       code=code)), sign_in)
    tokens = exchange(app.test_client(), sign_in, answer["code"])
    assert tokens.status_code == 200, tokens.get_json()
