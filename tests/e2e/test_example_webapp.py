"""The example web app (examples/webapp) in headless Chromium, against ``protekt serve``.

A user's whole journey: from the app to Protekt's sign-in page and back (the code flow), an
authenticator app added from the QR code on the app's security page (read back with zbarimg,
codes from oathtool), recovery codes shown and downloaded, the step-up when Protekt answers
``mfa_required`` to a new phone (the app signs in again with ``acr_values`` and Protekt asks only
for the second factor, after a wrong code), sign-out at the app and at Protekt, then sign-ins
with an SMS code read from the ``file`` outbox and with recovery codes, new recovery codes, and a
factor removed.

With ``PROTEKT_SCREENSHOTS=1`` the screenshots go to examples/webapp/screenshots for its README.

Also, without a browser (Flask's test client for the app, ``requests`` on Protekt's pages):
concurrent pages of one session near the access token's expiry refresh it one at a time and keep
the user signed in.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, Request, expect

from protekt import Protekt
from tests.e2e.conftest import PASSWORD, Deployment, needs_chromium
from tests.e2e.test_mfa_flow import need, oathtool_device
from tests.examples import webapp_module
from tests.support import Outbox, TotpDevice, free_port, scanned_secret, wait_until

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "examples" / "webapp"
pytestmark = pytest.mark.e2e
EMAIL = "webapp-user@example.org"
NAME = "Ann Lee"
PHONE = "+16505550123"
MASKED_PHONE = "+1******0123"
LOG = "webapp.log"
APP_NAME = "Example web app"
RECOVERY_CODE = re.compile(r"^[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}$", re.MULTILINE)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PASSWORD_ACR = "urn:protekt:acr:password"
WRONG_CODE = "The code is wrong, or was already used."


def register_webapp(deployment: Deployment, url: str) -> dict[str, Any]:
    """The app's client, registered with the CLI as its README says: the callback as redirect
    URI, the start page as post-logout redirect URI."""
    made = deployment.cli("create-client", "--name", APP_NAME, "--redirect-uri",
                          f"{url}/callback", "--post-logout-redirect-uri", f"{url}/", "--json")
    client = json.loads(made.stdout)
    assert client["redirect_uris"] == [f"{url}/callback"]
    return client


@dataclass
class Journey:
    """The browser tab on the app, the user's phone (the outbox) and authenticator app; the
    callbacks Protekt sent the browser to (their codes and states must stay out of the log)."""

    page: Page
    url: str
    protekt: str
    outbox: Outbox
    shots: Path
    device: TotpDevice | None = None
    callbacks: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.url + path)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def follow(self, name: str) -> None:
        self.page.get_by_role("link", name=name, exact=True).click()

    def at_protekt(self, heading: str) -> None:
        """The browser is on one of Protekt's pages, signing in to this app."""
        expect(self.page.get_by_role("heading", name=heading)).to_be_visible()
        assert self.page.url.startswith(self.protekt + "/")
        expect(self.page.locator(".brand")).to_have_text(f"Protekt for {APP_NAME}")

    def sign_in(self, password: str = PASSWORD) -> None:
        """From the app's start page to Protekt's sign-in page, and its form filled in."""
        self.follow("Sign in")
        self.enter_password(password)

    def enter_password(self, password: str = PASSWORD) -> None:
        self.at_protekt("Sign in")
        self.page.get_by_label("Email").fill(EMAIL)
        self.page.get_by_label("Password").fill(password)
        self.click("Continue")

    def answer(self, label: str, code: str) -> None:
        """On Protekt's second-factor page: a code in the form of this label, verified."""
        form = self.page.locator("form", has=self.page.get_by_label(label, exact=True))
        form.get_by_label(label, exact=True).fill(code)
        form.get_by_role("button", name="Verify").click()

    def expect_home(self, amr: str, acr: str) -> None:
        """Back at the app's home page, signed in as the user, with this amr and acr."""
        expect(self.page.locator("#who")).to_have_text(EMAIL)
        expect(self.page.locator("#amr")).to_have_text(amr)
        expect(self.page.locator("#acr")).to_have_text(acr)
        assert self.page.url == self.url + "/"

    def sign_out(self) -> None:
        """Sign-out at the app, then at Protekt, back at the app's start page."""
        self.click("Sign out")
        expect(self.page.get_by_role("status")).to_have_text("You are signed out.")
        expect(self.page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
        assert self.page.url == self.url + "/"

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / name, full_page=True)


@pytest.fixture
def app_url(make_deployment: Callable[..., Deployment], outbox: Outbox,
            tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Protekt with MFA on (app, SMS, recovery codes) and a fresh user, and the web app on it
    with its own registered client: ``(app URL, Protekt URL)``."""
    need("zbarimg", "zbar-tools")
    need("oathtool", "oathtool")
    deployment = make_deployment(PROTEKT_SMS_PROVIDER="file", PROTEKT_SMS_OUTBOX=str(outbox.path))
    deployment.cli("mfa", "settings", "--enable", "--factors", "otp,sms,recovery-code")
    deployment.cli("sms", "credits", "--add", "10")
    deployment.cli("create-user", "--email", EMAIL, "--password", PASSWORD, "--name", NAME)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = register_webapp(deployment, url)
    log = tmp_path / LOG
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, str(WEBAPP / "app.py")], stdout=sink, stderr=subprocess.STDOUT,
            env={**os.environ, "PROTEKT_DOMAIN": deployment.url, "PORT": str(port),
                 "PROTEKT_CLIENT_ID": client["client_id"],
                 "PROTEKT_CLIENT_SECRET": client["client_secret"],
                 "WEBAPP_SECRET_KEY": secrets.token_hex(32)})
    try:
        wait_until(lambda: _answers(url, process, log), timeout=20)
        yield url, deployment.url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the web app exited:\n{log.read_text()}")
    try:
        return requests.get(f"{url}/", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def journey(browser: Browser, app_url: tuple[str, str], outbox: Outbox,
            tmp_path: Path) -> Iterator[Journey]:
    """A tab of headless Chromium (Debian's, through Playwright) for the web app."""
    shots = WEBAPP / "screenshots" if os.environ.get("PROTEKT_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(exist_ok=True)
    url, protekt = app_url
    context = browser.new_context(accept_downloads=True, viewport={"width": 900, "height": 700})
    context.set_default_timeout(10_000)
    try:
        journey = Journey(context.new_page(), url, protekt, outbox, shots)

        def seen(request: Request) -> None:
            if request.url.startswith(f"{url}/callback?"):
                journey.callbacks.append(request.url)

        journey.page.on("request", seen)
        yield journey
    finally:
        context.close()


@needs_chromium
def test_a_user_signs_in_at_protekt_sets_up_mfa_and_uses_every_factor(journey: Journey,
                                                                       tmp_path: Path) -> None:
    sign_in_with_password(journey)
    codes = add_authenticator_app(journey, tmp_path)
    add_phone_after_a_step_up(journey)
    sign_in_with_sms(journey)
    sign_in_with_recovery_code(journey, codes[0])
    new_codes = regenerate_codes_and_remove_phone(journey, codes)
    only_new_recovery_codes_sign_in(journey, codes[1], new_codes[0])
    log = (tmp_path / LOG).read_text()
    assert "GET /security HTTP" in log and "GET /callback HTTP" in log  # the request log
    assert len(journey.callbacks) == 5  # one per sign-in, the step-up's included
    answers = [parse_qs(urlsplit(callback).query)[name][0] for callback in journey.callbacks
               for name in ("code", "state")]
    assert journey.device is not None
    secrets_shown = [PASSWORD, PHONE, journey.device.secret, *codes, *new_codes]
    assert not [value for value in [*secrets_shown, *answers] if value in log]


def sign_in_with_password(journey: Journey) -> None:
    """No MFA yet: the app sends the browser to Protekt's sign-in page, which refuses a wrong
    password in its own words; the right one brings the user back to the app, password only."""
    journey.open("/")
    journey.follow("Sign in")
    journey.at_protekt("Sign in")
    journey.screenshot("sign-in.png")
    journey.enter_password("not the password")
    expect(journey.page.get_by_role("alert")).to_have_text("Wrong email or password.")
    journey.enter_password()
    journey.expect_home("pwd", PASSWORD_ACR)
    expect(journey.page.get_by_role("heading", name=f"Welcome, {NAME}")).to_be_visible()


def add_authenticator_app(journey: Journey, tmp_path: Path) -> list[str]:
    """QR code and secret on the app's page, first code from oathtool, then the recovery codes
    (the first factor needs no step-up)."""
    page = journey.page
    journey.follow("Security")
    expect(page.get_by_text("No second factor yet.")).to_be_visible()
    journey.click("Add authenticator app")
    secret = read_qr_code(journey, tmp_path)
    assert page.locator("#secret").inner_text() == secret
    journey.screenshot("security-qr.png")
    journey.device = oathtool_device(secret)
    page.get_by_label("Enter the 6-digit code the app shows").fill(journey.device.next_code())
    journey.click("Confirm")
    expect(page.get_by_role("status")).to_have_text("Authenticator app added.")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    saved = download_codes(journey)
    assert saved == page.locator("#recovery-codes li").all_inner_texts()
    journey.click("I have saved them")
    expect(page.locator("table")).to_contain_text("Authenticator app")
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    return saved


def read_qr_code(journey: Journey, tmp_path: Path) -> str:
    """The secret of the otpauth URI that zbarimg reads from the QR code's screenshot."""
    png = tmp_path / "qr.png"
    journey.page.locator("#qr-code").screenshot(path=png)
    return scanned_secret(png, EMAIL)


def download_codes(journey: Journey) -> list[str]:
    """The codes in the downloaded text file, which comes as a text/plain attachment."""
    with journey.page.expect_download() as started:
        journey.follow("Download as a text file")
    download = started.value
    assert download.suggested_filename == "protekt-recovery-codes.txt"
    answer = journey.page.request.get(download.url)
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="protekt-recovery-codes.txt"')
    return RECOVERY_CODE.findall(Path(download.path()).read_text())


def add_phone_after_a_step_up(journey: Journey) -> None:
    """The session is password-only and the user now has a factor: Protekt answers
    ``mfa_required``, and the app signs in again with ``acr_values``. Protekt's session knows the
    user, so its page asks only for the second factor (a wrong code first); back at the app's
    security page with a multi-factor session, the phone is added, active at once, masked."""
    page = journey.page
    journey.follow("Add phone")
    page.get_by_label("Mobile number, in international format").fill(PHONE)
    journey.click("Add phone")
    journey.at_protekt("Confirm it's you")
    expect(page.get_by_label("Password")).to_have_count(0)
    journey.screenshot("mfa-step.png")
    assert journey.device is not None
    right = journey.device.next_code()
    journey.answer("Code from your authenticator app", "000000" if right != "000000" else "111111")
    expect(page.get_by_role("alert")).to_have_text(WRONG_CODE)
    journey.answer("Code from your authenticator app", right)
    expect(page.get_by_role("heading", name="Security settings")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Second factor confirmed")
    journey.follow("Add phone")
    page.get_by_label("Mobile number, in international format").fill(PHONE)
    journey.click("Add phone")
    expect(page.get_by_role("status")).to_contain_text("Phone added")
    expect(page.locator("table")).to_contain_text(MASKED_PHONE)
    assert PHONE not in page.content()
    journey.follow("Home")
    journey.expect_home("pwd otp mfa", MULTI_FACTOR)
    journey.screenshot("home.png")


def sign_in_with_sms(journey: Journey) -> None:
    """Sign out, and in again with a text message (the code from the SMS outbox). Protekt asks
    for the password first: the app's sign-out ended Protekt's session too."""
    journey.sign_out()
    journey.sign_in()
    journey.at_protekt("Confirm it's you")
    journey.click("Text me a code")
    journey.answer("Code from the text message we sent you", journey.outbox.last_code(PHONE))
    journey.expect_home("pwd sms mfa", MULTI_FACTOR)
    journey.sign_out()


def sign_in_with_recovery_code(journey: Journey, code: str) -> None:
    """A code from the downloaded file signs in once."""
    journey.sign_in()
    journey.at_protekt("Confirm it's you")
    journey.page.get_by_text("Use a recovery code").click()
    journey.answer("Recovery code", code)
    journey.expect_home("pwd mfa", MULTI_FACTOR)


def regenerate_codes_and_remove_phone(journey: Journey, old_codes: list[str]) -> list[str]:
    """New recovery codes replace the old ones; the phone is removed from the list."""
    page = journey.page
    journey.follow("Security")
    expect(page.get_by_text("You have 9 unused recovery codes.")).to_be_visible()
    journey.click("Generate new recovery codes")
    expect(page.get_by_role("status")).to_contain_text("The old ones no longer work.")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    new_codes = page.locator("#recovery-codes li").all_inner_texts()
    assert not set(new_codes) & set(old_codes)
    journey.click("I have saved them")
    phone_row = page.locator("tr", has_text=MASKED_PHONE)
    phone_row.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Authenticator removed.")
    expect(page.locator("table")).not_to_contain_text(MASKED_PHONE)
    expect(page.locator("table")).to_contain_text("Authenticator app")
    journey.sign_out()
    return new_codes


def only_new_recovery_codes_sign_in(journey: Journey, old_code: str, new_code: str) -> None:
    """After regeneration, a code of the old set is refused and one of the new set signs in;
    the phone is no longer offered."""
    journey.sign_in()
    journey.at_protekt("Confirm it's you")
    expect(journey.page.get_by_role("button", name="Text me a code")).to_have_count(0)
    journey.page.get_by_text("Use a recovery code").click()
    journey.answer("Recovery code", old_code)
    expect(journey.page.get_by_role("alert")).to_have_text(WRONG_CODE)
    journey.page.get_by_text("Use a recovery code").click()
    journey.answer("Recovery code", new_code)
    journey.expect_home("pwd mfa", MULTI_FACTOR)


# without a browser ----------------------------------------------------------------------------

APP_URL = "http://localhost"  # where Flask's test client sends its requests


class ProtektHttp(requests.Session):
    """The web app's HTTP to Protekt. It keeps the token endpoint's answers, and can hold the
    first refresh grant until the test releases it, so that another page of the session comes
    in while a refresh is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.token_answers: list[dict[str, Any]] = []
        self.hold_refresh = False
        self.refreshing = threading.Event()
        self.release = threading.Event()

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        grant = (kwargs.get("data") or {}).get("grant_type")
        if grant == "refresh_token" and self.hold_refresh:
            self.hold_refresh = False
            self.refreshing.set()
            assert self.release.wait(timeout=30)
        response = super().request(method, url, *args, **kwargs)
        if grant is not None and response.ok:
            self.token_answers.append(response.json())
        return response


class WatchedLock:
    """A session's lock that counts the requests that asked for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self.asked = 0

    def __enter__(self) -> WatchedLock:
        with self._count:
            self.asked += 1
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def webapp_on(deployment: Deployment, http: ProtektHttp) -> Flask:
    """The example web app (in this process) on the deployment, with a client of its own; its
    HTTP to Protekt goes through http."""
    client = register_webapp(deployment, APP_URL)
    app_module = webapp_module("app")
    extension = webapp_module("user_session").EXTENSION
    app = app_module.create_app(app_module.Settings(
        deployment.url, client["client_id"], client["client_secret"], secrets.token_hex(32),
        APP_URL))
    app.extensions[extension].client = Protekt(deployment.url, client["client_id"],
                                               client["client_secret"], session=http)
    return app


def sign_in_by_redirect(app: FlaskClient, deployment: Deployment) -> Any:
    """The app's ``/login``, Protekt's sign-in page filled in (``requests`` as the browser on
    Protekt's side), and the app's ``/callback``: its answer."""
    browser = requests.Session()
    started = app.get("/login")
    assert started.status_code == 303
    page = follow(browser, browser.get(started.headers["Location"], allow_redirects=False),
                  deployment.url)
    token = CSRF.search(page.text)
    assert page.status_code == 200 and token is not None, page.text[:500]
    answer = follow(browser, browser.post(
        f"{deployment.url}/signin", allow_redirects=False,
        data={"csrf_token": token.group(1), "email": deployment.email, "password": PASSWORD}),
        deployment.url)
    location = answer.headers["Location"]
    assert location.startswith(f"{APP_URL}/callback?"), location
    parts = urlsplit(location)
    return app.get(f"{parts.path}?{parts.query}")


def follow(browser: requests.Session, response: requests.Response,
           issuer: str) -> requests.Response:
    """Follow Protekt's redirects within Protekt; stop at a page or a redirect elsewhere."""
    while response.is_redirect and response.headers["Location"].startswith(("/", issuer)):
        location = response.headers["Location"]
        response = browser.get(issuer + location if location.startswith("/") else location,
                               allow_redirects=False)
    return response


def stored_session(app: Flask, client: FlaskClient) -> Any:
    """The app's server-side session that the test client's cookie names."""
    cookie = client.get_cookie("webapp_session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    sessions = app.extensions[webapp_module("user_session").EXTENSION].sessions
    return sessions.open(serializer.loads(cookie.value)["sid"])


def test_concurrent_pages_near_token_expiry_keep_the_user_signed_in(
        make_deployment: Callable[..., Deployment]) -> None:
    """Each page needs a refresh (the access token lives no longer than the refresh margin). A
    page that comes in while another refreshes must wait for it, not spend the same refresh
    token, which would make Protekt revoke the user's session."""
    margin = webapp_module("user_session").REFRESH_MARGIN
    deployment = make_deployment(PROTEKT_ACCESS_TOKEN_TTL=str(margin))
    http = ProtektHttp()
    app = webapp_on(deployment, http)
    client = app.test_client()
    signed_in = sign_in_by_redirect(client, deployment)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/")
    lock = WatchedLock()
    stored_session(app, client).lock = lock
    http.hold_refresh = True
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.get, "/security")
        assert http.refreshing.wait(timeout=30)  # the first page is refreshing
        second = pool.submit(client.get, "/security")
        wait_until(lambda: lock.asked == 2, timeout=10)  # the second page waits for it
        http.release.set()
        assert [first.result().status_code, second.result().status_code] == [200, 200]
    assert client.get("/security").status_code == 200
    refresh_tokens = [answer["refresh_token"] for answer in http.token_answers]
    assert len(refresh_tokens) == 4  # the sign-in, then one refresh per page, one at a time
    assert len(set(refresh_tokens)) == 4
