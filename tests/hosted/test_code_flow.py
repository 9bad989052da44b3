"""The authorization code flow through the hosted pages (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1,
RFC 9207): sign-in, second factor, the SSO session, prompt and max_age, and the code's rules."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    assert_error,
    bearer,
    enroll,
    token,
    unverified,
)
from tests.hosted.conftest import (
    CALLBACK,
    ISSUER,
    OTHER_CALLBACK,
    Browser,
    Request,
    back_at_app,
    exchange,
)
from tests.support import TotpDevice

MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


def signed_in_code(browser: Browser, request: Request) -> str:
    answer = back_at_app(browser.sign_in(request), request)
    assert (answer["state"], answer["iss"]) == (request.state, ISSUER)
    return answer["code"]


def id_claims(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    return unverified(response.get_json()["id_token"])[1]


def test_a_password_sign_in_gives_a_code_for_tokens_with_nonce_acr_and_amr(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, scope="openid profile email")
    got = exchange(client, request, signed_in_code(browser, request))
    claims = id_claims(got)
    assert (claims["aud"], claims["nonce"], claims["sub"]) == (rp.client_id, request.nonce,
                                                               user.id)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:protekt:acr:password"
    body = got.get_json()
    assert body["scope"] == "openid profile email" and "refresh_token" not in body
    assert got.headers["Cache-Control"] == "no-store"
    userinfo = client.get("/userinfo", headers=bearer(body["access_token"])).get_json()
    assert userinfo["sub"] == user.id and userinfo["email"] == "ann@example.org"


def test_offline_access_brings_a_refresh_token_that_refreshes(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, scope="openid offline_access")
    body = exchange(client, request, signed_in_code(browser, request)).get_json()
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": body["refresh_token"]}, auth=rp.basic)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert unverified(refreshed.get_json()["id_token"])[1]["acr"] == "urn:protekt:acr:password"


def test_a_user_with_mfa_answers_an_app_code_and_the_tokens_say_so(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    request = Request(rp)
    page = browser.sign_in(request)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.get_data(
        as_text=True)
    answer = back_at_app(browser.follow(browser.submit(
        page, "/signin/mfa", factor="otp", code=mfa_user.device.next_code())), request)
    claims = id_claims(exchange(client, request, answer["code"]))
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == MFA_ACR


def test_a_wrong_code_is_explained_and_the_right_one_then_passes(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    request = Request(rp)
    page = browser.sign_in(request)
    wrong = browser.submit(page, "/signin/mfa", factor="otp", code="000000")
    assert wrong.status_code == 400 and "The code is wrong" in wrong.get_data(as_text=True)
    right = browser.submit(wrong, "/signin/mfa", factor="otp", code=mfa_user.device.next_code())
    assert back_at_app(browser.follow(right), request)["code"]


def test_a_recovery_code_signs_in_too(browser: Browser, rp: RegisteredClient,
                                      mfa_user: EnrolledUser) -> None:
    request = Request(rp)
    page = browser.sign_in(request)
    answer = browser.follow(browser.submit(page, "/signin/mfa", factor="recovery-code",
                                           code=mfa_user.recovery_codes[0]))
    assert back_at_app(answer, request)["code"]


def test_a_second_app_signs_in_through_the_session_without_a_password(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, make_client: Any,
        user: Any) -> None:
    signed_in_code(browser, Request(rp))
    other = make_client(name="Other app", redirect_uris=[OTHER_CALLBACK])
    request = Request(other, redirect_uri=OTHER_CALLBACK, extra={"prompt": "none"})
    answer = back_at_app(browser.authorize(request), request)  # straight back: no page
    assert id_claims(exchange(client, request, answer["code"]))["sub"] == user.id


def test_prompt_none_without_a_session_answers_login_required_to_the_app(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, extra={"prompt": "none"})
    answer = back_at_app(browser.authorize(request), request)
    assert answer["error"] == "login_required"
    assert (answer["state"], answer["iss"]) == (request.state, ISSUER)


def test_prompt_login_and_max_age_zero_ask_for_the_password_again(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    signed_in_code(browser, Request(rp))
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        page = browser.follow(browser.authorize(Request(rp, extra=extra)))
        assert 'autocomplete="current-password"' in page.get_data(as_text=True), extra
    request = Request(rp, extra={"max_age": "3600"})
    assert back_at_app(browser.authorize(request), request)["code"]


def test_acr_values_force_the_second_factor_on_a_password_only_session(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any,
        web_app: RegisteredClient) -> None:
    signed_in_code(browser, Request(rp))  # a password-only session (MFA optional, none yet)
    enrolled = enroll(client, web_app)
    none = Request(rp, extra={"acr_values": MFA_ACR, "prompt": "none"})
    assert back_at_app(browser.authorize(none), none)["error"] == "interaction_required"
    request = Request(rp, extra={"acr_values": MFA_ACR})
    page = browser.follow(browser.authorize(request))
    assert 'name="factor" value="otp"' in page.get_data(as_text=True)
    answer = back_at_app(browser.follow(browser.submit(
        page, "/signin/mfa", factor="otp", code=enrolled.device.next_code())), request)
    claims = id_claims(exchange(client, request, answer["code"]))
    assert claims["acr"] == MFA_ACR and "mfa" in claims["amr"]


def test_acr_values_make_a_user_without_a_factor_enroll_one(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, extra={"acr_values": MFA_ACR})
    page = browser.sign_in(request)
    assert "Use an authenticator app" in page.get_data(as_text=True)
    app_page = browser.submit(page, "/signin/enroll/app")
    text = app_page.get_data(as_text=True)
    assert 'src="data:image/png;base64,' in text and "recovery-codes.txt" in text
    device = TotpDevice(re.search(r'<code id="secret">([A-Z2-7]+)</code>', text).group(1))
    answer = back_at_app(browser.follow(browser.submit(
        app_page, "/signin/mfa", factor="otp", code=device.next_code())), request)
    assert id_claims(exchange(client, request, answer["code"]))["acr"] == MFA_ACR


# refusals before the redirect_uri is trusted: a page, never a redirect ----------------------

@pytest.mark.parametrize("change", [
    {"redirect_uri": "https://evil.example.com/callback"},
    {"redirect_uri": CALLBACK + "/extra"},
    {"redirect_uri": ""},
    {"client_id": "no-such-client"},
])
def test_an_unknown_client_or_unregistered_redirect_uri_is_a_page_not_a_redirect(
        browser: Browser, rp: RegisteredClient, change: dict[str, str]) -> None:
    params = {**Request(rp).params(), **change}
    response = browser.client.get("/authorize?" + urlencode(params))
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert "evil" not in response.get_data(as_text=True)


# refusals sent to the app ------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "openid read:users"}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
])
def test_a_bad_request_from_a_known_app_goes_back_to_it(
        browser: Browser, rp: RegisteredClient, extra: dict[str, str], error: str) -> None:
    request = Request(rp, extra=extra)
    answer = back_at_app(browser.authorize(request), request)
    assert answer["error"] == error and answer["error_description"]
    assert (answer["state"], answer["iss"]) == (request.state, ISSUER)


def test_a_public_client_must_use_pkce(browser: Browser, make_client: Any) -> None:
    spa = make_client(name="SPA", public=True, redirect_uris=[CALLBACK])
    request = Request(spa)
    params = {k: v for k, v in request.params().items() if not k.startswith("code_challenge")}
    answer = back_at_app(browser.client.get("/authorize?" + urlencode(params)), request)
    assert answer["error"] == "invalid_request" and "PKCE" in answer["error_description"]


def test_a_public_client_exchanges_with_its_verifier(
        browser: Browser, client: FlaskClient, make_client: Any, user: Any) -> None:
    spa = make_client(name="SPA", public=True, redirect_uris=[CALLBACK])
    request = Request(spa)
    code = signed_in_code(browser, request)
    without = token(client, {"grant_type": "authorization_code", "code": code,
                             "redirect_uri": CALLBACK, "client_id": spa.client_id})
    assert_error(without, "invalid_request", 400)


def test_a_wrong_code_verifier_is_invalid_grant(browser: Browser, client: FlaskClient,
                                                rp: RegisteredClient, user: Any) -> None:
    request = Request(rp)
    code = signed_in_code(browser, request)
    assert_error(exchange(client, request, code, code_verifier="x" * 43), "invalid_grant", 400)


def test_a_code_for_another_redirect_uri_is_invalid_grant(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp)
    code = signed_in_code(browser, request)
    assert_error(exchange(client, request, code, redirect_uri=OTHER_CALLBACK),
                 "invalid_grant", 400)


def test_a_code_used_twice_is_refused_and_revokes_what_it_gave(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, scope="openid offline_access")
    code = signed_in_code(browser, request)
    first = exchange(client, request, code).get_json()
    body = assert_error(exchange(client, request, code), "invalid_grant", 400)
    assert "already used" in body["error_description"]
    assert_error(client.get("/userinfo", headers=bearer(first["access_token"])),
                 "invalid_token", 401)
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": first["refresh_token"]}, auth=rp.basic)
    assert_error(refreshed, "invalid_grant", 400)


def test_a_code_of_client_a_is_refused_at_client_b(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, make_client: Any,
        user: Any) -> None:
    request = Request(rp)
    code = signed_in_code(browser, request)
    other = make_client(name="B", redirect_uris=[CALLBACK])
    assert_error(exchange(client, Request(other, verifier=request.verifier), code),
                 "invalid_grant", 400)


def test_a_client_without_the_grant_is_told_at_its_redirect_uri(
        browser: Browser, make_client: Any) -> None:
    legacy = make_client(name="Legacy", grant_types=["password"], redirect_uris=[CALLBACK])
    request = Request(legacy)
    assert back_at_app(browser.authorize(request), request)["error"] == "unauthorized_client"


def test_an_audience_the_client_may_use_goes_into_the_access_token(
        browser: Browser, client: FlaskClient, make_client: Any, user: Any) -> None:
    api_app = make_client(name="API app", redirect_uris=[CALLBACK],
                          audiences=["https://api.example.com"])
    request = Request(api_app, extra={"audience": "https://api.example.com"})
    body = exchange(client, request, signed_in_code(browser, request)).get_json()
    assert unverified(body["access_token"])[1]["aud"] == ["https://api.example.com", ISSUER]
    refused = Request(api_app, extra={"audience": "https://bank.example.com"})
    assert back_at_app(browser.authorize(refused), refused)["error"] == "access_denied"


def test_all_five_standard_scopes_at_the_code_flow(
        browser: Browser, client: FlaskClient, rp: RegisteredClient, user: Any) -> None:
    request = Request(rp, scope="openid profile email phone offline_access")
    consent = browser.sign_in(request)  # phone: the user is asked, even by a first-party app
    answer = back_at_app(browser.follow(browser.submit(consent, "/signin/consent",
                                                       decision="allow")), request)
    body = exchange(client, request, answer["code"]).get_json()
    assert body["scope"] == "openid profile email phone offline_access"
    assert body["refresh_token"] and id_claims_of(body)["email"] == "ann@example.org"


def id_claims_of(body: dict[str, Any]) -> dict[str, Any]:
    return unverified(body["id_token"])[1]
