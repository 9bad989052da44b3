"""Passkeys on the hosted pages (README, Passkeys), with the software authenticator of
tests/softkey.py in the browser's place: the page script's JSON endpoints, enrollment during
sign-in, the second step, the passwordless sign-in, and the refusals shown on the pages.
Chromium's own authenticator runs the same pages end to end in tests/e2e/test_passkeys_browser.py.
"""

from __future__ import annotations

import html as html_text
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.api.test_passkeys import Enrolled, enroll_passkey
from tests.conftest import RegisteredClient, unverified
from tests.hosted.conftest import CSRF, ISSUER, Browser, Request, back_at_app, exchange
from tests.softkey import SoftKey

RP_ID = "127.0.0.1"  # the hosted tests' issuer; WebAuthn in a real browser needs a name


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def new_key(**knobs: Any) -> SoftKey:
    return SoftKey(rp_id=RP_ID, origin=ISSUER, **knobs)


@pytest.fixture
def passkey(client: FlaskClient, web_app: RegisteredClient, user: Any) -> Enrolled:
    return enroll_passkey(client, web_app, new_key())


def options(browser: Browser, page: Any, path: str) -> Any:
    """What the page script fetches: POST with the page's CSRF token in X-CSRF-Token."""
    token = CSRF.search(page.get_data(as_text=True))
    assert token is not None
    return browser.client.post(path, headers={"X-CSRF-Token": token.group(1)})


def id_token_claims(client: FlaskClient, request: Request, answer: Any) -> dict[str, Any]:
    code = back_at_app(answer, request)["code"]
    return unverified(exchange(client, request, code).get_json()["id_token"])[1]


def test_the_sign_in_page_offers_passkeys_in_the_autofill_and_a_button(
        browser: Browser, rp: RegisteredClient, user: Any) -> None:
    page = browser.follow(browser.authorize(Request(rp))).get_data(as_text=True)
    assert 'autocomplete="username webauthn"' in page
    assert 'id="passkey-signin"' in page and "passkeys.js" in page


def test_without_passkeys_the_sign_in_page_has_no_passkey_parts(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    configure(app, factors=["otp", "sms", "recovery-code"])
    page = browser.follow(browser.authorize(Request(rp))).get_data(as_text=True)
    assert "webauthn" not in page and "passkeys.js" not in page


def test_a_passkey_signs_in_without_the_password(
        client: FlaskClient, browser: Browser, rp: RegisteredClient, passkey: Enrolled) -> None:
    request = Request(rp)
    page = browser.follow(browser.authorize(request))
    prompt = options(browser, page, "/signin/passkey/options")
    assert prompt.status_code == 200 and prompt.get_json()["userVerification"] == "required"
    credential = json.dumps(passkey.key.assert_(prompt.get_json()))
    answer = browser.follow(browser.submit(page, "/signin/passkey", credential=credential))
    claims = id_token_claims(client, request, answer)
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["acr"].endswith("/phishing-resistant")


def test_a_refused_passkey_is_explained_on_the_sign_in_page(
        browser: Browser, rp: RegisteredClient, passkey: Enrolled) -> None:
    page = browser.follow(browser.authorize(Request(rp)))
    prompt = options(browser, page, "/signin/passkey/options").get_json()
    credential = json.dumps(passkey.key.assert_(prompt, origin="https://evil.example"))
    refused = browser.submit(page, "/signin/passkey", credential=credential)
    assert refused.status_code == 400
    assert "does not verify" in refused.get_data(as_text=True)
    assert 'autocomplete="current-password"' in refused.get_data(as_text=True)


def test_the_passkey_is_the_second_step_after_the_password(
        client: FlaskClient, browser: Browser, rp: RegisteredClient, passkey: Enrolled) -> None:
    request = Request(rp)
    page = browser.sign_in(request)
    assert 'id="passkey-verify"' in page.get_data(as_text=True)
    prompt = options(browser, page, "/signin/mfa/webauthn").get_json()
    assert len(prompt["allowCredentials"]) == 1
    answer = browser.follow(browser.submit(page, "/signin/mfa", factor="webauthn",
                                           code=json.dumps(passkey.key.assert_(prompt))))
    assert id_token_claims(client, request, answer)["amr"] == ["pwd", "hwk", "mfa"]


def test_a_malformed_answer_at_the_second_step_is_explained(
        browser: Browser, rp: RegisteredClient, passkey: Enrolled) -> None:
    page = browser.sign_in(Request(rp))
    refused = browser.submit(page, "/signin/mfa", factor="webauthn", code="{not json")
    assert refused.status_code == 400
    assert "AuthenticationResponseJSON" in refused.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["webauthn-platform", "webauthn-roaming"])
def test_under_a_required_policy_a_new_user_creates_a_passkey_while_signing_in(
        app: Flask, client: FlaskClient, browser: Browser, rp: RegisteredClient, *, user: Any,
        kind: str) -> None:
    configure(app, policy="required")
    request = Request(rp)
    page = browser.sign_in(request)
    assert f'value="{kind}"' in page.get_data(as_text=True)
    creation = browser.submit(page, "/signin/enroll/passkey", kind=kind)
    html = creation.get_data(as_text=True)
    assert creation.status_code == 200 and "recovery-codes.txt" in html
    data = html.split("data-creation='", 1)[1].split("'", 1)[0]
    key = new_key(synced=kind == "webauthn-platform")
    registration = key.register(json.loads(html_text.unescape(data)))
    answer = browser.follow(browser.submit(creation, "/signin/mfa", factor="webauthn",
                                           code=json.dumps(registration)))
    expected = "swk" if kind == "webauthn-platform" else "hwk"
    assert id_token_claims(client, request, answer)["amr"] == ["pwd", expected, "mfa"]


def test_the_options_endpoints_answer_json_errors(
        app: Flask, browser: Browser, rp: RegisteredClient, user: Any) -> None:
    page = browser.follow(browser.authorize(Request(rp)))
    refused = options(browser, page, "/signin/mfa/webauthn")  # no second step in progress
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    configure(app, factors=["otp", "recovery-code"])
    switched_off = options(browser, page, "/signin/passkey/options")
    assert "switched off" in switched_off.get_json()["error_description"]


def test_when_a_passkey_does_not_count_as_mfa_the_second_step_offers_the_other_factors(
        app: Flask, client: FlaskClient, browser: Browser, rp: RegisteredClient,
        passkey: Enrolled) -> None:
    configure(app, passkey_counts_as_mfa=False)
    request = Request(rp)
    page = browser.follow(browser.authorize(request))
    prompt = options(browser, page, "/signin/passkey/options").get_json()
    second = browser.follow(browser.submit(page, "/signin/passkey",
                                           credential=json.dumps(passkey.key.assert_(prompt))))
    text = second.get_data(as_text=True)
    assert "Use a recovery code" in text and 'id="passkey-verify"' not in text
    again = browser.submit(second, "/signin/mfa", factor="webauthn", code=json.dumps(
        passkey.key.assert_(prompt)))
    assert again.status_code == 400  # the same passkey is not a second factor
    answer = browser.follow(browser.submit(second, "/signin/mfa", factor="recovery-code",
                                           code=passkey.recovery_codes[0]))
    assert id_token_claims(client, request, answer)["amr"] == ["hwk", "user", "mfa"]


def test_a_group_rule_makes_a_session_with_an_app_code_step_up_to_the_passkey(
        app: Flask, client: FlaskClient, browser: Browser, rp: RegisteredClient,
        passkey: Enrolled) -> None:
    """Signed in with a recovery code (any factor was fine), the user joins a group that takes
    passkeys only: the next sign-in asks the passkey, and offers nothing else."""
    first = Request(rp)
    page = browser.sign_in(first)
    back_at_app(browser.follow(browser.submit(page, "/signin/mfa", factor="recovery-code",
                                              code=passkey.recovery_codes[0])), first)
    with app.app_context():
        group = services.flows.group_administration.create(
            "admins", mfa_factors=["phishing-resistant"])
        user = services.users.find_by_email("ann@example.org")
        assert user is not None
        services.flows.group_administration.add_member(group.id, user.id)
    again = Request(rp)
    step = browser.follow(browser.authorize(again))
    text = step.get_data(as_text=True)
    assert 'id="passkey-verify"' in text and "recovery code" not in text.lower()
    prompt = options(browser, step, "/signin/mfa/webauthn").get_json()
    answer = browser.follow(browser.submit(step, "/signin/mfa", factor="webauthn",
                                           code=json.dumps(passkey.key.assert_(prompt))))
    assert set(id_token_claims(client, again, answer)["amr"]) == {"pwd", "hwk", "mfa"}
