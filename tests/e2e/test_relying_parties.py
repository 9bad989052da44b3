"""Relying parties that nobody here wrote sign a user in to ``protekt serve`` (2 workers,
PostgreSQL, Redis), in headless Chromium (Debian's, through Playwright).

Two web apps, each on a library's own OpenID Connect code: a Node app on ``openid-client`` v6
(tests/e2e/fixtures/openid_client_app, pinned by its package-lock.json) and a Flask app on
Authlib's Flask client (tests/e2e/fixtures/authlib_flask_app.py, served in a thread). Their
clients are registered with ``protekt create-client --redirect-uri --post-logout-redirect-uri``;
the users enroll an authenticator app through the API beforehand, and oathtool computes the
codes. For each app, the browser goes: the app's /login → Protekt's sign-in page → the
second-factor page → back at the app with an ID token the library validated (nonce, iss, aud,
signature; ``acr`` multi-factor, ``amr`` pwd otp mfa) → UserInfo → a refresh → the other app
signs in through the SSO session without a password page → RP-initiated logout through the
``end_session_endpoint`` back to the app → the refresh tokens of the session no longer work and
``prompt=none`` answers ``login_required`` at each app's redirect_uri. A third-party client
shows the consent page once.

With ``PROTEKT_SCREENSHOTS=1`` the hosted sign-in, second-factor and consent pages are saved to
docs/screenshots (800x600).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests.conftest import unverified
from tests.e2e.conftest import PASSWORD, Deployment, needs_chromium
from tests.e2e.fixtures import authlib_flask_app
from tests.e2e.test_mfa_flow import enroll, need
from tests.support import TotpDevice, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
OPENID_CLIENT_APP = Path(__file__).parent / "fixtures" / "openid_client_app"
SCOPE = "openid profile email offline_access"
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
USERS = {"openid-client": "oc-user@example.org", "authlib": "authlib-user@example.org",
         "third-party": "consent-user@example.org"}
APP_TIMEOUT = 30  # seconds for an app to start (the Node one after discovery)
pytestmark = [pytest.mark.e2e, needs_chromium]


@dataclass(frozen=True)
class RelyingParty:
    """An app, where it runs and the client it was registered as."""

    name: str
    url: str
    client_id: str

    @property
    def callback(self) -> str:
        return f"{self.url}/callback"

    @property
    def signed_out(self) -> str:
        return f"{self.url}/signed-out"


@dataclass
class Setup:
    """Protekt, its three apps, and the users' authenticator apps (by email)."""

    deployment: Deployment
    apps: dict[str, RelyingParty]
    devices: dict[str, TotpDevice]


class Shots:
    """Screenshots of Protekt's pages: docs/screenshots with PROTEKT_SCREENSHOTS=1, else a
    temporary folder; each name once (the first journey's page)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: set[str] = set()

    def take(self, page: Page, name: str) -> None:
        if name not in self.taken:
            self.taken.add(name)
            page.screenshot(path=self.folder / f"{name}.png")


@dataclass
class Tab:
    """A browser tab of its own (own cookies), with every document it asked for (redirects
    included) and every page it showed."""

    page: Page
    requested: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("request", lambda r: r.is_navigation_request()
                     and r.frame == self.page.main_frame and self.requested.append(r.url))
        self.page.on("framenavigated", lambda frame: frame == self.page.main_frame
                     and self.shown.append(frame.url))

    def open(self, url: str) -> None:
        self.requested.clear()
        self.shown.clear()
        self.page.goto(url)

    def at(self, url: str) -> None:
        """Wait until the tab shows url (its query aside)."""
        self.page.wait_for_url(re.compile("^" + re.escape(url) + r"(\?.*)?$"))

    def text(self, element_id: str) -> str:
        """The text of an element of the app's page; the app's refusal fails the test."""
        self.page.locator(f"#{element_id}, #error").first.wait_for()
        error = self.page.locator("#error")
        if element_id != "error" and error.count():
            pytest.fail(f"{self.page.url}: {error.inner_text()}: "
                        f"{self.page.locator('#error-description').inner_text()}")
        return self.page.locator(f"#{element_id}").inner_text()

    def json(self, element_id: str) -> Any:
        return json.loads(self.text(element_id))

    def asked_of(self, server: str) -> list[tuple[str, dict[str, str]]]:
        """Path and query of each request of this tab to server (redirects included)."""
        return [(urlsplit(url).path, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
                for url in self.requested if url.startswith(server + "/")]


# the apps ---------------------------------------------------------------------------------------

def node_modules() -> None:
    """The app's node_modules from its package-lock.json (scripts/lib.sh does it too)."""
    if not (OPENID_CLIENT_APP / "node_modules" / "openid-client").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm missing (Debian package npm; ./scripts/test.sh installs it)")
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OPENID_CLIENT_APP,
                                   capture_output=True, text=True, timeout=300, check=False)
        assert installed.returncode == 0, installed.stdout + installed.stderr


def start_node_app(stack: ExitStack, port: int, env: dict[str, str], log: Path) -> None:
    """The openid-client app on port, stopped with the stack; ready once its discovery is done."""
    with log.open("w") as sink:
        process = subprocess.Popen(["node", "app.js"], cwd=OPENID_CLIENT_APP, stdout=sink,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, **env, "PORT": str(port)})

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    stack.callback(stop)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the openid-client app exited:\n{log.read_text()}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_until(ready, timeout=APP_TIMEOUT)


def register(deployment: Deployment, name: str, url: str, *extra: str) -> dict[str, Any]:
    made = deployment.cli("create-client", "--name", name, "--redirect-uri", f"{url}/callback",
                          "--post-logout-redirect-uri", f"{url}/signed-out", *extra, "--json")
    return json.loads(made.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def setup(make_deployment: Callable[..., Deployment],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    need("node", "nodejs")
    need("oathtool", "oathtool")
    node_modules()
    deployment = make_deployment()
    ports = {name: free_port() for name in ("openid-client", "authlib", "third-party")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    names = {"openid-client": "Notes (openid-client)", "authlib": "Photos (Authlib)",
             "third-party": "Partner app"}
    with ThreadPoolExecutor(max_workers=6) as pool:  # each command is a process of its own
        made = [pool.submit(register, deployment, names[name], urls[name],
                            *(["--third-party"] if name == "third-party" else []))
                for name in ports]
        users = [pool.submit(deployment.cli, "create-user", "--email", email,
                             "--password", PASSWORD) for email in USERS.values()]
        clients = {name: future.result() for name, future in zip(ports, made, strict=True)}
        for future in users:
            future.result()
    for name, client in clients.items():
        assert client["redirect_uris"] == [f"{urls[name]}/callback"]
        assert client["first_party"] is (name != "third-party")
    devices = {USERS[name]: enroll(replace(deployment, email=USERS[name]))[1]
               for name in ("openid-client", "authlib")}
    with ExitStack() as stack:
        start_node_app(stack, ports["openid-client"], {
            "PROTEKT_ISSUER": deployment.url, "SCOPE": SCOPE,
            "CLIENT_ID": clients["openid-client"]["client_id"],
            "CLIENT_SECRET": clients["openid-client"]["client_secret"],
        }, tmp_path_factory.mktemp("openid-client") / "app.log")
        for name in ("authlib", "third-party"):
            client = clients[name]
            running = authlib_flask_app.serve(ports[name], lambda base, c=client: (
                authlib_flask_app.create_app(deployment.url, c["client_id"],
                                             c["client_secret"], base, SCOPE)))
            stack.callback(running.stop)
        yield Setup(deployment, {name: RelyingParty(name, urls[name], clients[name]["client_id"])
                                 for name in ports}, devices)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    if os.environ.get("PROTEKT_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return Shots(folder)
    return Shots(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    try:
        yield Tab(context.new_page())
    finally:
        context.close()


# the journey ------------------------------------------------------------------------------------

def sign_in_with_mfa(tab: Tab, setup: Setup, rp: RelyingParty, shots: Shots) -> dict[str, Any]:
    """From the app's /login through Protekt's password and second-factor pages, back to the app
    with the ID token's claims as the library validated them."""
    email = USERS[rp.name]
    page = tab.page
    tab.open(f"{rp.url}/login")
    tab.at(f"{setup.deployment.url}/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    shots.take(page, "hosted-sign-in")
    page.get_by_role("button", name="Continue").click()
    tab.at(f"{setup.deployment.url}/signin/mfa")
    assert page.get_by_role("heading", name="Confirm it's you").is_visible()
    shots.take(page, "hosted-mfa")
    page.get_by_label("Code from your authenticator app").fill(setup.devices[email].next_code())
    page.locator("form", has=page.locator("input[name=factor][value=otp]")).get_by_role(
        "button", name="Verify").click()
    tab.at(rp.callback)
    claims = back_at_app(tab, setup, rp)
    assert claims["email"] == email
    (authorize,) = [query for path, query in tab.asked_of(setup.deployment.url)
                    if path == "/authorize"]
    assert (authorize["response_type"], authorize["code_challenge_method"]) == ("code", "S256")
    assert len(authorize["code_challenge"]) == 43 and "code_verifier" not in authorize
    assert (authorize["scope"], authorize["redirect_uri"]) == (SCOPE, rp.callback)
    assert authorize["nonce"] == claims["nonce"] and authorize["state"]
    return claims


def back_at_app(tab: Tab, setup: Setup, rp: RelyingParty) -> dict[str, Any]:
    """At the app's callback: the claims of the ID token the library validated, with the nonce
    the app sent, the issuer of the authorization response (RFC 9207) and a refresh token."""
    tab.at(rp.callback)
    claims: dict[str, Any] = tab.json("claims")
    assert claims["nonce"] == tab.text("expected-nonce") != ""
    assert tab.text("iss") == claims["iss"] == setup.deployment.url
    assert claims["aud"] in (rp.client_id, [rp.client_id])
    assert tab.text("scope").split() == SCOPE.split()
    assert tab.text("has-refresh-token") == "true"
    return claims


def assert_multi_factor(claims: dict[str, Any]) -> None:
    assert claims["acr"] == MFA_ACR
    assert {"otp", "mfa"} <= set(claims["amr"]) and claims["amr"] == ["pwd", "otp", "mfa"]


def userinfo(tab: Tab, rp: RelyingParty, claims: dict[str, Any]) -> None:
    tab.open(f"{rp.url}/userinfo")
    info = tab.json("userinfo")
    assert (info["sub"], info["email"]) == (claims["sub"], claims["email"])


def refresh(tab: Tab, rp: RelyingParty, claims: dict[str, Any]) -> None:
    """The refresh token grant: a new access token that UserInfo takes, and an ID token for the
    same sign-in (same sub, auth_time, acr and amr)."""
    tab.open(f"{rp.url}/refresh")
    refreshed = tab.json("refreshed")
    assert refreshed["access_token_changed"] is True
    assert refreshed["refresh_token_rotated"] is True
    assert refreshed["userinfo"]["sub"] == claims["sub"]
    again = refreshed["claims"]
    assert again is not None
    assert (again["sub"], again["acr"], again["amr"]) == (claims["sub"], claims["acr"],
                                                         claims["amr"])
    assert again["auth_time"] == claims["auth_time"]


def single_sign_on(tab: Tab, setup: Setup, other: RelyingParty,
                   first: dict[str, Any]) -> dict[str, Any]:
    """The other app's /login comes straight back with a code: no Protekt page at all."""
    tab.open(f"{other.url}/login")
    claims = back_at_app(tab, setup, other)
    assert [path for path, _ in tab.asked_of(setup.deployment.url)] == ["/authorize"]
    assert not [url for url in tab.shown if url.startswith(setup.deployment.url)]
    assert tab.page.locator("input[type=password]").count() == 0
    assert claims["sub"] == first["sub"] and claims["auth_time"] == first["auth_time"]
    assert_multi_factor(claims)
    return claims


def logout(tab: Tab, setup: Setup, rp: RelyingParty, claims: dict[str, Any]) -> None:
    """RP-initiated logout: the end_session_endpoint with id_token_hint, the registered
    post_logout_redirect_uri and state; straight back to the app (the hint names the user)."""
    tab.open(f"{rp.url}/logout")
    tab.at(rp.signed_out)
    assert tab.text("signed-out") == "You are signed out."
    (asked,) = tab.asked_of(setup.deployment.url)
    path, query = asked
    assert path == "/logout" and query["post_logout_redirect_uri"] == rp.signed_out
    assert query["state"] and query.get("client_id", rp.client_id) == rp.client_id
    hint = unverified(query["id_token_hint"])[1]
    assert (hint["sub"], hint["aud"]) == (claims["sub"], rp.client_id)
    assert not [url for url in tab.shown if url.startswith(setup.deployment.url)]


def refused_at_app(tab: Tab, rp: RelyingParty, path: str) -> str:
    tab.open(f"{rp.url}{path}")
    return tab.text("error")


def prompt_none_is_login_required(tab: Tab, setup: Setup, rp: RelyingParty) -> None:
    tab.open(f"{rp.url}/login?prompt=none")
    tab.at(rp.callback)
    assert tab.text("error") == "login_required"
    answer = parse_qs(urlsplit(tab.page.url).query)
    assert answer["error"] == ["login_required"] and answer["iss"] == [setup.deployment.url]
    assert [path for path, _ in tab.asked_of(setup.deployment.url)] == ["/authorize"]


@pytest.mark.parametrize(("name", "other_name"), [("openid-client", "authlib"),
                                                  ("authlib", "openid-client")])
def test_a_relying_party_signs_a_user_in_with_mfa_and_out(
        tab: Tab, setup: Setup, shots: Shots, name: str, other_name: str) -> None:
    rp, other = setup.apps[name], setup.apps[other_name]
    claims = sign_in_with_mfa(tab, setup, rp, shots)
    assert_multi_factor(claims)
    userinfo(tab, rp, claims)
    refresh(tab, rp, claims)
    other_claims = single_sign_on(tab, setup, other, claims)
    userinfo(tab, other, other_claims)

    logout(tab, setup, rp, claims)
    # The session's refresh tokens are revoked: this app's and the one the other app got.
    assert refused_at_app(tab, rp, "/refresh-after-logout") == "invalid_grant"
    assert refused_at_app(tab, other, "/refresh") == "invalid_grant"
    for app in (other, rp):
        prompt_none_is_login_required(tab, setup, app)
    tab.open(f"{other.url}/login")  # without prompt=none: the password page again
    tab.at(f"{setup.deployment.url}/signin")
    tab.page.get_by_label("Password").wait_for()


def test_a_third_party_app_asks_for_consent_once(tab: Tab, setup: Setup, shots: Shots) -> None:
    rp = setup.apps["third-party"]
    page = tab.page
    tab.open(f"{rp.url}/login")
    tab.at(f"{setup.deployment.url}/signin")
    page.get_by_label("Email").fill(USERS["third-party"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    tab.at(f"{setup.deployment.url}/signin/consent")
    assert page.get_by_role("heading", name="Partner app wants to").is_visible()
    scopes = page.locator("ul.scopes li")
    assert [scopes.nth(i).get_attribute("data-scope") for i in range(scopes.count())] == (
        SCOPE.split())
    shots.take(page, "hosted-consent")
    page.get_by_role("button", name="Allow").click()
    claims = back_at_app(tab, setup, rp)
    assert (claims["email"], claims["amr"]) == (USERS["third-party"], ["pwd"])

    tab.open(f"{rp.url}/login")  # consent given: straight back, no page of Protekt's
    assert back_at_app(tab, setup, rp)["sub"] == claims["sub"]
    assert [path for path, _ in tab.asked_of(setup.deployment.url)] == ["/authorize"]


def test_another_origin_cannot_frame_the_sign_in_page(tab: Tab, setup: Setup) -> None:
    """CSP frame-ancestors 'none' (and X-Frame-Options: DENY) keep the hosted pages out of
    another site's frames, so no one can overlay them (clickjacking); the app's own page, framed
    beside it, shows that framing as such works."""
    rp = setup.apps["authlib"]
    target = (f"{setup.deployment.url}/authorize?response_type=code&scope=openid"
              f"&client_id={rp.client_id}&redirect_uri={rp.callback}")
    page = (f'<iframe name="protekt" src="{target}"></iframe>'
            f'<iframe name="app" src="{rp.signed_out}"></iframe>').encode()

    class Framing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Framing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tab.page.goto(f"http://127.0.0.1:{server.server_port}/")  # waits for the frames too
        framed = {frame.name: frame.url for frame in tab.page.main_frame.child_frames}
    finally:
        server.shutdown()
        server.server_close()
    assert framed == {"protekt": "chrome-error://chromewebdata/", "app": rp.signed_out}
