"""Findings of a security review of the browser sign-in, each pinned by a test: a second factor
switched off, a sign-in outliving a new password, consent before the second factor, refresh
tokens of a replaced session, malformed input, loopback redirect tricks, the id_token_hint,
unsupported request objects, empty parameters, another client's code, the size of what an
anonymous request may leave in Redis, and answers to a POST."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from tests.conftest import EnrolledUser, RegisteredClient, assert_error, bearer, token
from tests.hosted.conftest import CALLBACK, Browser, Request, back_at_app, exchange


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def signed_in(browser: Browser, request: Request) -> dict[str, str]:
    return back_at_app(browser.sign_in(request), request)


@pytest.mark.parametrize(("factors", "factor"), [
    (["sms", "recovery-code"], "otp"), (["otp", "sms"], "recovery-code")])
def test_a_factor_switched_off_does_not_pass_on_the_mfa_page(
        app: Flask, browser: Browser, rp: RegisteredClient, mfa_user: EnrolledUser, *,
        factors: list[str], factor: str) -> None:
    page = browser.sign_in(Request(rp))
    configure(app, factors=factors)
    code = mfa_user.device.next_code() if factor == "otp" else mfa_user.recovery_codes[0]
    refused = browser.submit(page, "/signin/mfa", factor=factor, code=code)
    assert refused.status_code == 400 and "Location" not in refused.headers


def test_a_new_password_ends_a_sign_in_in_progress(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, extra={"prompt": "consent"})
    consent = browser.sign_in(request)  # stopped on the consent page
    with app.app_context():
        services.administration.update(user.id, password="another good password")
    answer = browser.follow(browser.submit(consent, "/signin/consent", decision="allow"))
    assert answer.status_code in (200, 400) and "Location" not in answer.headers


def test_a_code_from_before_a_new_password_is_refused(
        app: Flask, browser: Browser, client: FlaskClient, rp: RegisteredClient,
        user: Any) -> None:
    request = Request(rp)
    code = signed_in(browser, request)["code"]
    with app.app_context():
        services.administration.update(user.id, password="another good password")
    assert_error(exchange(client, request, code), "invalid_grant", 400)


def test_consent_waits_for_the_second_factor(
        browser: Browser, make_client: Any, mfa_user: EnrolledUser, app: Flask,
        user: Any) -> None:
    partner = make_client(name="Partner", redirect_uris=[CALLBACK], first_party=False)
    mfa_page = browser.sign_in(Request(partner, scope="openid phone"))
    early = browser.submit(mfa_page, "/signin/consent", decision="allow")
    assert early.status_code == 400
    with app.app_context():
        assert services.consents.granted(user.id, partner.client_id) == frozenset()


def test_logout_revokes_the_refresh_tokens_of_a_session_it_replaced(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    first = Request(rp, scope="openid offline_access")
    old = exchange(client, first, signed_in(browser, first)["code"]).get_json()
    again = Request(rp, extra={"prompt": "login"})  # the password again: a new session
    new = exchange(client, again, signed_in(browser, again)["code"]).get_json()
    browser.client.get("/logout", query_string={"id_token_hint": new["id_token"]})
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": old["refresh_token"]}, auth=rp.basic)
    assert_error(refreshed, "invalid_grant", 400)


def test_basic_credentials_that_are_not_utf8_are_invalid_client(
        client: FlaskClient, rp: RegisteredClient) -> None:
    header = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()}
    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers=header)
    assert_error(answer, "invalid_client", 401)
    ignored = client.get("/authorize?" + urlencode(Request(rp).params()), headers=header)
    assert ignored.status_code == 303  # no client authenticates at /authorize: on to sign-in


@pytest.mark.parametrize("asked", [
    "http://127.0.0.1:abc/cb", "http://127.0.0.1:99999999/cb", "http://127.0.0.1:0/cb",
    "http://127.0.0.1:5555/cb#frag", "http://127.0.0.1:5555/c\tb", "http://127.0.0.1:5555\\@x/cb",
])
def test_loopback_tricks_are_pages_not_redirects(
        browser: Browser, make_client: Any, asked: str) -> None:
    native = make_client(name="Native", public=True, redirect_uris=["http://127.0.0.1/cb"])
    params = {**Request(native).params(), "redirect_uri": asked, "prompt": "none"}
    answer = browser.client.get("/authorize?" + urlencode(params))
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_a_nul_in_a_parameter_or_a_form_is_a_clear_400(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    params = {**Request(rp).params(), "client_id": "a\x00b"}
    assert browser.client.get("/authorize?" + urlencode(params)).status_code == 400
    page = browser.follow(browser.authorize(Request(rp)))
    refused = browser.submit(page, "/signin", email="ann\x00@example.org", password="x")
    assert refused.status_code == 400 and "control characters" in refused.get_data(as_text=True)


def test_an_id_token_hint_naming_another_user_is_login_required(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, make_user: Any,
        user: Any) -> None:
    make_user("bob@example.org")
    request = Request(rp)
    bob_code = back_at_app(browser.sign_in(request, email="bob@example.org"), request)["code"]
    bob_id_token = exchange(client, request, bob_code).get_json()["id_token"]
    browser.client.get("/logout", query_string={"id_token_hint": bob_id_token})
    signed_in(browser, Request(rp))  # now Ann
    hinted = Request(rp, extra={"prompt": "none", "id_token_hint": bob_id_token})
    assert back_at_app(browser.authorize(hinted), hinted)["error"] == "login_required"


@pytest.mark.parametrize(("name", "error"), [
    ("request", "request_not_supported"), ("request_uri", "request_uri_not_supported"),
    ("registration", "registration_not_supported")])
def test_request_objects_and_registration_are_refused_not_ignored(
        browser: Browser, rp: RegisteredClient, user: Any, name: str, error: str) -> None:
    request = Request(rp, extra={name: "eyJhbGciOiJub25lIn0.e30."})
    assert back_at_app(browser.authorize(request), request)["error"] == error


def test_empty_parameters_count_as_omitted(browser: Browser, rp: RegisteredClient,
                                           user: Any) -> None:
    signed_in(browser, Request(rp))
    request = Request(rp, extra={"max_age": "", "response_mode": "", "prompt": ""})
    assert back_at_app(browser.authorize(request), request)["code"]


def test_another_clients_attempt_neither_burns_the_code_nor_revokes_its_tokens(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, make_client: Any,
        user: Any) -> None:
    request = Request(rp)
    code = signed_in(browser, request)["code"]
    spa = make_client(name="SPA", public=True, redirect_uris=[CALLBACK])
    stranger = Request(spa, verifier=request.verifier)
    assert_error(exchange(client, stranger, code), "invalid_grant", 400)
    body = exchange(client, request, code).get_json()  # still good for its own client
    assert_error(exchange(client, stranger, code), "invalid_grant", 400)
    assert client.get("/userinfo", headers=bearer(body["access_token"])).status_code == 200


def test_an_anonymous_request_leaves_only_the_known_parameters_in_redis(
        app: Flask, browser: Browser, rp: RegisteredClient, redis_url: str,
        redis_prefix: str) -> None:
    extra = {f"junk{i}": "x" * 100 for i in range(200)}
    browser.client.post("/authorize", data={**Request(rp).params(), **extra})
    store = redis.Redis.from_url(redis_url)
    keys = list(store.scan_iter(match=f"{redis_prefix}:signin:*"))
    assert len(keys) == 1 and len(store.get(keys[0]) or b"") < 4096
    too_long = browser.client.post("/authorize", data={**Request(rp).params(),
                                                       "state": "s" * 5000})
    assert too_long.status_code == 400 and "Location" not in too_long.headers


def test_answers_to_a_post_are_303(browser: Browser, rp: RegisteredClient, user: Any) -> None:
    signed_in(browser, Request(rp))
    request = Request(rp)
    answer = browser.client.post("/authorize", data=request.params())
    assert answer.status_code == 303 and back_at_app(answer, request)["code"]


def test_a_third_party_client_gets_only_the_browser_grants_by_default(
        app: Flask, make_client: Any) -> None:
    partner = make_client(name="Partner", redirect_uris=[CALLBACK], first_party=False)
    with app.app_context():
        assert services.clients.get(partner.client_id).grant_types == [
            "authorization_code", "refresh_token"]
        db.session.rollback()
