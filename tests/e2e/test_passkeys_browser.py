"""Passkeys in headless Chromium with the DevTools virtual authenticator (CDP ``WebAuthn.enable``,
``WebAuthn.addVirtualAuthenticator``), against ``protekt serve`` at ``http://localhost:PORT``:
WebAuthn refuses IP addresses as RP IDs, so both the server and the app's site are named
``localhost`` (each on its own port; the RP ID ignores ports).

Each tab gets its own authenticators: a platform one (internal transport, resident keys, user
verification: Touch ID, Windows Hello) and a roaming one (USB, no resident key: a security key).
Through the JavaScript SDK on the app's site (another origin, named in
``PROTEKT_WEBAUTHN_ORIGINS`` and ``PROTEKT_CORS_ORIGINS``): enroll both kinds, pass the second
step with the passkey, sign in without a password, remove the passkey. On the hosted pages: the
passwordless sign-in through conditional UI (the passkey offered in the email field's autofill),
the security key as second step after the password, and under a required policy both kinds
created while signing in. On the dashboard: an administrator required to use a key adds one,
then signs in with it. Every token is checked as a resource server does (PyJWKClient).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from playwright.sync_api import Browser, CDPSession, Page, expect

from tests.e2e.conftest import PASSWORD, Deployment, needs_chromium
from tests.e2e.test_js_sdk_browser import load, ok, refused, serve_static_site
from tests.support import TotpDevice

pytestmark = [pytest.mark.e2e, needs_chromium]
PHISHING_RESISTANT = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"


@dataclass
class Site:
    """Protekt, the app's site and its two clients: the SDK's public one, and a confidential
    one for the hosted sign-in, whose code the test exchanges as the app's back end would."""

    deployment: Deployment
    url: str  # http://localhost:<port>
    client_id: str  # what load() calls spa.client_id
    web_client: tuple[str, str]

    @property
    def callback(self) -> str:
        return f"{self.url}/callback"


@pytest.fixture(scope="module")
def site(make_deployment: Callable[..., Deployment]) -> Iterator[Site]:
    server = serve_static_site()
    url = f"http://localhost:{server.server_address[1]}"
    try:
        deployment = make_deployment(host="localhost", PROTEKT_CORS_ORIGINS=url,
                                     PROTEKT_WEBAUTHN_ORIGINS=url)
        spa = json.loads(deployment.cli("create-client", "--name", "SPA", "--public",
                                        "--json").stdout)
        web = json.loads(deployment.cli("create-client", "--name", "Web app", "--redirect-uri",
                                        f"{url}/callback", "--json").stdout)
        yield Site(deployment, url, spa["client_id"], (web["client_id"], web["client_secret"]))
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Tab:
    """A page with its own virtual authenticators (they stay with the tab as it navigates)."""

    page: Page
    cdp: CDPSession
    authenticators: dict[str, str]

    def unplug(self, kind: str) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator",
                      {"authenticatorId": self.authenticators.pop(kind)})

    def credentials(self, kind: str) -> list[dict[str, Any]]:
        return self.cdp.send("WebAuthn.getCredentials",
                             {"authenticatorId": self.authenticators[kind]})["credentials"]


AUTHENTICATORS = {
    "platform": {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True,
                 "automaticPresenceSimulation": True},
    "roaming": {"protocol": "ctap2", "transport": "usb", "hasResidentKey": False,
                "hasUserVerification": True, "isUserVerified": True,
                "automaticPresenceSimulation": True},
}


@pytest.fixture
def new_tab(browser: Browser) -> Iterator[Callable[..., Tab]]:
    contexts = []

    def open_tab(*kinds: str) -> Tab:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        added = {kind: cdp.send("WebAuthn.addVirtualAuthenticator",
                                {"options": AUTHENTICATORS[kind]})["authenticatorId"]
                 for kind in kinds}
        return Tab(page, cdp, added)

    yield open_tab
    for context in contexts:
        context.close()


def new_user(site: Site) -> str:
    email = f"user-{secrets.token_hex(4)}@example.org"
    site.deployment.cli("create-user", "--email", email, "--password", PASSWORD)
    return email


def verified(site: Site, token: str, audience: str | None = None) -> dict[str, Any]:
    """The claims as a resource server reads them: discovery, jwks_uri, PyJWKClient."""
    meta = requests.get(f"{site.deployment.url}/.well-known/openid-configuration",
                        timeout=5).json()
    key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience or meta["issuer"],
                      issuer=meta["issuer"])


def sdk_page(tab: Tab, site: Site) -> Page:
    load(tab.page, site.url, site)  # type: ignore[arg-type]  (load reads url and client_id)
    return tab.page


def sdk_passkey(tab: Tab, site: Site, email: str, kind: str) -> dict[str, Any]:
    """Log in with the password and enroll a passkey through the SDK (the user's first factor)."""
    page = sdk_page(tab, site)
    tokens = ok(page, "protekt.login(arg)", {"username": email, "password": PASSWORD})
    return ok(page, "protekt.mfa.enrollPasskey({type: arg.kind}, arg.token)",
              {"kind": kind, "token": tokens["access_token"]})


# the JavaScript SDK ----------------------------------------------------------------------------

def test_the_sdk_enrolls_both_kinds_verifies_signs_in_without_a_password_and_removes(
        new_tab: Callable[..., Tab], site: Site) -> None:
    tab = new_tab("platform", "roaming")
    email = new_user(site)
    passkey = sdk_passkey(tab, site, email, "webauthn-platform")
    assert passkey["active"] is True and len(passkey["recovery_codes"]) == 10
    assert len(tab.credentials("platform")) == 1

    page = tab.page
    required = ok(page, "protekt.login(arg)", {"username": email, "password": PASSWORD})
    assert required["available_factors"] == ["webauthn-platform", "recovery-code"]
    second = ok(page, "protekt.mfa.verifyPasskey(arg)", required["mfa_token"])
    assert verified(site, second["access_token"])["amr"] == ["pwd", "hwk", "mfa"]
    assert verified(site, second["id_token"], site.client_id)["acr"] == PHISHING_RESISTANT

    key = ok(page, "protekt.mfa.enrollPasskey({type: 'webauthn-roaming', name: 'YubiKey'})")
    assert key["authenticator_type"] == "webauthn-roaming" and "recovery_codes" not in key
    assert len(tab.credentials("roaming")) == 1
    listed = ok(page, "protekt.mfa.listAuthenticators()")
    assert [(a["authenticator_type"], a["name"]) for a in listed[:2]] == [
        ("webauthn-platform", "Passkey"), ("webauthn-roaming", "YubiKey")]

    tab.unplug("roaming")  # else Chromium ends the discoverable request at the key without one
    passwordless = ok(page, "protekt.loginWithPasskey()")
    claims = verified(site, passwordless["access_token"])
    assert claims["amr"] == ["hwk", "user", "mfa"]

    ok(page, "protekt.mfa.deleteAuthenticator(arg)", passkey["id"])
    gone = refused(page, "protekt.loginWithPasskey()")  # the browser still has it; we do not
    assert (gone["error"], gone["status"]) == ("invalid_grant", 400)
    assert "not enrolled" in gone["message"]


# the hosted pages ------------------------------------------------------------------------------

def authorize_url(site: Site) -> str:
    params = {"response_type": "code", "client_id": site.web_client[0],
              "redirect_uri": site.callback, "scope": "openid", "state": secrets.token_hex(8)}
    return f"{site.deployment.url}/authorize?{urlencode(params)}"


def exchanged(site: Site, page: Page) -> dict[str, Any]:
    """Wait until the browser is back at the app, then exchange the code (the app's back end)."""
    page.wait_for_url(f"{site.callback}?*")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    response = requests.post(f"{site.deployment.url}/oauth/token", auth=site.web_client,
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": site.callback}, timeout=10)
    assert response.status_code == 200, response.text
    return verified(site, response.json()["id_token"], site.web_client[0])


def test_conditional_ui_signs_in_with_the_passkey_in_the_autofill(
        new_tab: Callable[..., Tab], site: Site) -> None:
    tab = new_tab("platform")
    sdk_passkey(tab, site, new_user(site), "webauthn-platform")
    tab.page.goto(authorize_url(site))  # the sign-in page asks for the passkey at once
    claims = exchanged(site, tab.page)
    assert claims["amr"] == ["hwk", "user", "mfa"] and claims["acr"] == PHISHING_RESISTANT


def test_a_security_key_is_the_second_step_after_the_password(
        new_tab: Callable[..., Tab], site: Site) -> None:
    tab = new_tab("roaming")
    email = new_user(site)
    sdk_passkey(tab, site, email, "webauthn-roaming")
    page = tab.page
    page.goto(authorize_url(site))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("#passkey-button")  # "Use your passkey or security key"
    assert exchanged(site, page)["amr"] == ["pwd", "hwk", "mfa"]


@pytest.mark.parametrize(("kind", "authenticator"), [("webauthn-platform", "platform"),
                                                     ("webauthn-roaming", "roaming")])
def test_under_a_required_policy_a_new_user_creates_one_while_signing_in(
        new_tab: Callable[..., Tab], site: Site, kind: str, authenticator: str) -> None:
    site.deployment.cli("mfa", "settings", "--policy", "required")
    try:
        tab = new_tab(authenticator)
        email = new_user(site)
        page = tab.page
        page.goto(authorize_url(site))
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.click(f"form:has(input[value='{kind}']) button")
        assert page.locator("#recovery-codes").is_visible()
        page.click("#passkey-button")
        assert exchanged(site, page)["amr"] == ["pwd", "hwk", "mfa"]
        assert len(tab.credentials(authenticator)) == 1
    finally:
        site.deployment.cli("mfa", "settings", "--policy", "optional")


# the dashboard ---------------------------------------------------------------------------------

def test_an_administrator_required_to_use_a_key_adds_one_then_signs_in_with_it(
        new_tab: Callable[..., Tab], site: Site) -> None:
    """With admins_phishing_resistant on: password, the app added at the first sign-in and its
    first code, then a security key added before the console opens; the next sign-in takes the
    key."""
    deployment = site.deployment
    email = f"admin-{secrets.token_hex(4)}@example.org"
    deployment.cli("create-admin", "--email", email, "--password", PASSWORD)
    deployment.cli("mfa", "settings", "--admins-phishing-resistant")
    try:
        tab = new_tab("roaming")
        page = tab.page
        page.goto(f"{deployment.url}/dashboard/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        secret = page.locator("#secret").inner_text()
        device = TotpDevice(secret)
        page.get_by_label("Code from the app").fill(device.next_code())
        page.get_by_role("button", name="Verify").click()
        assert len(page.locator("#recovery-codes").inner_text().split()) == 10
        page.get_by_role("button", name="Use a security key").click()
        page.click("#passkey-button")
        expect(page.get_by_role("heading", name="Monitoring")).to_be_visible()
        assert len(tab.credentials("roaming")) == 1

        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.click("#passkey-button")  # "Use your passkey or security key"
        expect(page.get_by_role("heading", name="Monitoring")).to_be_visible()
    finally:
        deployment.cli("mfa", "settings", "--admins-any-factor")
