"""The hosted pages as a user meets them: SMS codes, enrollment under a required policy,
consent, logout, what ends a sign-in session, the same limits as the grants, and the pages'
own protections (CSRF, framing, caching)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.models import AuditEvent
from tests.api.test_mfa_limits import wrong_code
from tests.api.test_mfa_sms import PHONE, enroll_phone, top_up
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    access_token,
    assert_error,
    bearer,
    token,
    unverified,
)
from tests.hosted.conftest import CALLBACK, CSRF, Browser, Request, back_at_app, exchange
from tests.support import Outbox, free_port, run_parallel


def events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.type == kind)))


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def signed_in(browser: Browser, request: Request) -> dict[str, str]:
    return back_at_app(browser.sign_in(request), request)


# SMS and enrollment -------------------------------------------------------------------------

def test_an_sms_code_is_sent_on_request_and_signs_in(
        app: Flask, browser: Browser, client: FlaskClient, rp: RegisteredClient, *,
        web_app: RegisteredClient, user: Any, outbox: Outbox) -> None:
    top_up(app, 10)
    assert enroll_phone(client, access_token(client, web_app)).status_code == 200
    request = Request(rp)
    page = browser.sign_in(request)
    sent = browser.follow(browser.submit(page, "/signin/mfa/sms"))
    assert 'id="sms"' in sent.get_data(as_text=True)
    answer = browser.follow(browser.submit(sent, "/signin/mfa", factor="sms",
                                           code=outbox.last_code(PHONE)))
    claims = unverified(exchange(client, request, back_at_app(answer, request)["code"])
                        .get_json()["id_token"])[1]
    assert claims["amr"] == ["pwd", "sms", "mfa"]


def test_under_a_required_policy_a_new_user_adds_a_phone_while_signing_in(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any, outbox: Outbox) -> None:
    configure(app, policy="required")
    top_up(app, 10)
    request = Request(rp)
    page = browser.sign_in(request)
    assert "Protect your account" in page.get_data(as_text=True)
    phone_page = browser.submit(page, "/signin/enroll/phone", phone_number=PHONE)
    assert phone_page.status_code == 200 and "recovery-codes.txt" in phone_page.get_data(
        as_text=True)
    answer = browser.follow(browser.submit(phone_page, "/signin/mfa", factor="sms",
                                           code=outbox.last_code(PHONE)))
    assert back_at_app(answer, request)["code"]


def test_a_bad_phone_number_is_explained_on_the_page(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    configure(app, policy="required")
    page = browser.sign_in(Request(rp))
    refused = browser.submit(page, "/signin/enroll/phone", phone_number="+1 415 CALL ME")
    assert refused.status_code == 400
    assert "not a valid phone number" in refused.get_data(as_text=True)


# consent ------------------------------------------------------------------------------------

@pytest.fixture
def third_party(make_client: Any) -> RegisteredClient:
    return make_client(name="Partner app", redirect_uris=[CALLBACK], first_party=False)


def test_a_third_party_app_is_allowed_once_then_remembered(
        browser: Browser, third_party: RegisteredClient, user: Any) -> None:
    request = Request(third_party, scope="openid profile")
    page = browser.sign_in(request)
    text = page.get_data(as_text=True)
    assert "Partner app wants to" in text and 'data-scope="profile"' in text
    answer = back_at_app(browser.follow(browser.submit(page, "/signin/consent",
                                                       decision="allow")), request)
    assert answer["code"]
    again = Request(third_party, scope="openid", extra={"prompt": "none"})
    assert back_at_app(browser.authorize(again), again)["code"]
    wider = Request(third_party, scope="openid email", extra={"prompt": "none"})
    assert back_at_app(browser.authorize(wider), wider)["error"] == "consent_required"


def test_revoking_a_consent_revokes_the_apps_refresh_tokens_and_asks_again(
        app: Flask, browser: Browser, client: FlaskClient, third_party: RegisteredClient,
        user: Any) -> None:
    request = Request(third_party, scope="openid offline_access")
    page = browser.sign_in(request)
    answer = back_at_app(browser.follow(browser.submit(page, "/signin/consent",
                                                       decision="allow")), request)
    body = exchange(client, request, answer["code"]).get_json()
    with app.app_context():
        services.consents.revoke(user.id, third_party.client_id)
        db.session.commit()
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": body["refresh_token"]}, auth=third_party.basic)
    assert_error(refreshed, "invalid_grant", 400)
    again = Request(third_party, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(again), again)["error"] == "consent_required"


def test_denying_consent_tells_the_app_access_denied(
        browser: Browser, third_party: RegisteredClient, user: Any) -> None:
    request = Request(third_party)
    page = browser.sign_in(request)
    answer = back_at_app(browser.submit(page, "/signin/consent", decision="deny"), request)
    assert (answer["error"], answer["state"]) == ("access_denied", request.state)


def test_the_phone_claims_come_only_with_the_users_consent(
        app: Flask, browser: Browser, client: FlaskClient, rp: RegisteredClient, *,
        web_app: RegisteredClient, user: Any, outbox: Outbox) -> None:
    top_up(app, 10)
    bearer_token = access_token(client, web_app)
    assert enroll_phone(client, bearer_token).status_code == 200
    with app.app_context():  # a phone counts as verified once a code from it was right
        for authenticator in services.mfa.authenticators.of_user(user.id, active=True):
            services.mfa.authenticators.used(authenticator)
        db.session.commit()
    request = Request(rp, scope="openid phone")
    page = browser.sign_in(request)  # the MFA step first (the user has a phone now)
    sent = browser.follow(browser.submit(page, "/signin/mfa/sms"))
    consent = browser.follow(browser.submit(sent, "/signin/mfa", factor="sms",
                                            code=outbox.last_code(PHONE)))
    assert 'data-scope="phone"' in consent.get_data(as_text=True)  # even a first-party app
    answer = back_at_app(browser.follow(browser.submit(consent, "/signin/consent",
                                                       decision="allow")), request)
    body = exchange(client, request, answer["code"]).get_json()
    info = client.get("/userinfo", headers=bearer(body["access_token"])).get_json()
    assert (info["phone_number"], info["phone_number_verified"]) == (PHONE, True)
    with app.app_context():  # another client the user never agreed to: no phone claims
        claims = services.claims.of(services.users.get(user.id), web_app.client_id, ("phone",))
    assert "phone_number" not in claims


# logout and the end of sessions -------------------------------------------------------------

def test_logout_ends_the_session_revokes_its_refresh_tokens_and_returns_to_the_app(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, scope="openid offline_access")
    body = exchange(client, request, signed_in(browser, request)["code"]).get_json()
    bye = browser.client.get("/logout", query_string={
        "id_token_hint": body["id_token"], "state": "s1",
        "post_logout_redirect_uri": "https://app.example.com/bye"})
    assert bye.status_code == 302
    assert bye.headers["Location"] == "https://app.example.com/bye?state=s1"
    none = Request(rp, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["error"] == "login_required"
    assert_error(token(client, {"grant_type": "refresh_token",
                                "refresh_token": body["refresh_token"]}, auth=rp.basic),
                 "invalid_grant", 400)


def test_logout_to_an_unregistered_address_is_refused_and_signs_nobody_out(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp)
    body = exchange(client, request, signed_in(browser, request)["code"]).get_json()
    refused = browser.client.get("/logout", query_string={
        "id_token_hint": body["id_token"], "post_logout_redirect_uri": "https://evil.example"})
    assert refused.status_code == 400 and "Location" not in refused.headers
    none = Request(rp, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["code"]


def test_logout_without_a_hint_asks_the_user_first(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    signed_in(browser, Request(rp))
    page = browser.client.get("/logout")
    assert page.status_code == 200 and "Sign out?" in page.get_data(as_text=True)
    done = browser.submit(page, "/logout", confirm="yes")
    assert "You are signed out" in done.get_data(as_text=True)
    none = Request(rp, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["error"] == "login_required"


@pytest.mark.parametrize("end", ["block", "reset_mfa", "password", "remove_factor"])
def test_a_block_reset_new_password_or_removed_factor_ends_the_session(
        app: Flask, browser: Browser, client: FlaskClient, rp: RegisteredClient, *,
        mfa_user: EnrolledUser, user: Any, end: str) -> None:
    request = Request(rp)
    page = browser.sign_in(request)
    back_at_app(browser.follow(browser.submit(page, "/signin/mfa", factor="otp",
                                              code=mfa_user.device.next_code())), request)
    with app.app_context():
        admin = services.administration
        {"block": lambda: admin.block(user.id), "reset_mfa": lambda: admin.reset_mfa(user.id),
         "password": lambda: admin.update(user.id, password="another good password"),
         "remove_factor": lambda: admin.remove_authenticator(user.id, mfa_user.authenticator_id),
         }[end]()
    none = Request(rp, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["error"] == "login_required"


# the same limits as the grants ---------------------------------------------------------------

def test_the_login_limits_hold_on_the_sign_in_page(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp)
    page = browser.follow(browser.authorize(request))
    for _ in range(10):  # the account's window
        page = browser.submit(page, "/signin", email="ann@example.org", password="wrong pass")
        assert page.status_code == 400 and "Wrong email or password" in page.get_data(
            as_text=True)
    locked = browser.submit(page, "/signin", email="ann@example.org",
                            password="correct horse battery")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many failed logins" in locked.get_data(as_text=True)


def test_a_parallel_burst_of_wrong_codes_counts_within_the_limits(
        app: Flask, browser: Browser, rp: RegisteredClient, mfa_user: EnrolledUser) -> None:
    page = browser.sign_in(Request(rp))
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    cookies = {c.key: c.value for c in browser.client._cookies.values()}
    wrong = wrong_code(mfa_user.device) if mfa_user.device.last_step else "000000"

    def attempt() -> int:
        tab = app.test_client()
        for name, value in cookies.items():
            tab.set_cookie(name, value)
        return tab.post("/signin/mfa", data={"csrf_token": csrf, "factor": "otp",
                                             "code": wrong}).status_code

    statuses = run_parallel(12, attempt)
    assert set(statuses) <= {400, 429}, statuses
    for _ in range(5):  # then one at a time, until the mfa_token is void
        attempt()
    assert len(events(app, "mfa.verify.failure")) == 5  # the mfa_token's limit, never more
    right = browser.submit(page, "/signin/mfa", factor="otp", code=mfa_user.device.next_code())
    assert right.status_code == 429  # the right code, refused: from the password again
    assert 'autocomplete="current-password"' in right.get_data(as_text=True)


# the pages' own protections ---------------------------------------------------------------

def test_a_form_without_its_csrf_token_or_from_another_origin_is_refused(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    page = browser.follow(browser.authorize(Request(rp)))
    forged = browser.client.post("/signin", data={"email": "ann@example.org",
                                                  "password": "correct horse battery"})
    assert forged.status_code == 400 and "did not come from this site" in forged.get_data(
        as_text=True)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    cross = browser.client.post("/signin", headers={"Origin": "https://evil.example"},
                                data={"csrf_token": csrf, "email": "ann@example.org",
                                      "password": "correct horse battery"})
    assert cross.status_code == 400


@pytest.mark.parametrize("path", ["/signin", "/signin/consent", "/authorize?client_id=x"])
def test_pages_refuse_framing_and_caching(browser: Browser, rp: RegisteredClient, user: Any,
                                          path: str) -> None:
    browser.follow(browser.authorize(Request(rp)))
    response = browser.client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_cookies_are_httponly_lax_and_signed(browser: Browser, rp: RegisteredClient,
                                                 user: Any) -> None:
    first = browser.authorize(Request(rp))
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    browser.client.set_cookie("protekt-signin", "forged")
    assert browser.client.get("/signin").status_code == 400  # no sign-in in progress


def test_discovery_names_the_browser_sign_in(client: FlaskClient) -> None:
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["authorization_endpoint"].endswith("/authorize")
    assert meta["end_session_endpoint"].endswith("/logout")
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert "http://schemas.openid.net/pape/policies/2007/06/multi-factor" in meta[
        "acr_values_supported"]
    assert {"profile", "phone", "offline_access"} <= set(meta["scopes_supported"])
    assert "authorization_code" in meta["grant_types_supported"]


@pytest.mark.parametrize(("path", "fields"), [
    ("/signin", {"email": "ann@example.org", "password": "correct horse battery"}),
    ("/signin/mfa", {"factor": "otp", "code": "123456"}),
    ("/signin/mfa/sms", {}),
    ("/signin/enroll/app", {}),
    ("/signin/enroll/phone", {"phone_number": PHONE}),
    ("/signin/enroll/passkey", {"kind": "webauthn-platform"}),
    ("/signin/mfa/webauthn", {}),
    ("/signin/passkey/options", {}),
    ("/signin/passkey", {"credential": "{}"}),
    ("/signin/consent", {"decision": "allow"}),
    ("/logout", {"confirm": "yes"}),
])
def test_every_form_needs_its_csrf_token(browser: Browser, rp: RegisteredClient, user: Any,
                                         path: str, fields: dict[str, str]) -> None:
    browser.sign_in(Request(rp))  # signed in: the logout confirmation is a form too
    browser.follow(browser.authorize(Request(rp, extra={"prompt": "login"})))
    for sent in ({**fields, "csrf_token": "forged"}, fields):
        refused = browser.client.post(path, data=sent)
        assert refused.status_code == 400, (path, refused.status_code)
        assert "did not come from this site" in refused.get_data(as_text=True)
    none = Request(rp, extra={"prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["code"]  # still signed in


def test_the_state_is_echoed_as_sent_and_left_out_when_absent(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    """The server echoes state (RFC 6749 §4.1.2); checking it is the app's part."""
    browser.sign_in(Request(rp))
    odd = Request(rp, state="a b&c=d/é", extra={"prompt": "none"})
    assert back_at_app(browser.authorize(odd), odd)["state"] == "a b&c=d/é"
    params = {k: v for k, v in Request(rp).params().items() if k != "state"}
    answer = browser.client.get("/authorize", query_string=params)
    assert "state=" not in answer.headers["Location"] and "code=" in answer.headers["Location"]


# outages and https -------------------------------------------------------------------------

def test_without_redis_the_sign_in_fails_closed_with_a_503_page(
        make_app: Any, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    """Sessions, codes and limits live in Redis: without it no code is given, and it says so."""
    browser.sign_in(Request(rp))
    cut_off = make_app(PROTEKT_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    for cookie in browser.client._cookies.values():
        cut_off.set_cookie(cookie.key, cookie.value)
    stranded = Browser(cut_off)
    for answer in (stranded.authorize(Request(rp, extra={"prompt": "none"})),
                   cut_off.get("/logout")):
        assert answer.status_code == 503 and answer.mimetype == "text/html"
        assert "Location" not in answer.headers and "Retry-After" in answer.headers


def test_without_the_database_the_sign_in_fails_closed_with_a_503_page(
        make_app: Any, browser: Browser, rp: RegisteredClient, user: Any, tmp_path: Any) -> None:
    gone = make_app(PROTEKT_DATABASE_URL=f"sqlite:///{tmp_path}/missing/none.db").test_client()
    answer = Browser(gone).authorize(Request(rp))
    assert answer.status_code == 503 and "Location" not in answer.headers


def test_behind_https_the_cookies_are_secure_with_the_host_prefix(
        make_app: Any, rp: RegisteredClient, user: Any) -> None:
    secure = make_app(PROTEKT_ISSUER="https://id.example.com").test_client()
    first = secure.get("/authorize", query_string=Request(rp).params(),
                       base_url="https://id.example.com")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("__Host-protekt-signin=") and "Secure" in cookie
