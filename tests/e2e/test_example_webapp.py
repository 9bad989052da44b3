"""The example web app (examples/webapp) in headless Chromium, against ``protekt serve``.

A user's whole journey through the app's pages: password sign-in, an authenticator app added
from the QR code on the page (read back with zbarimg, codes from oathtool), recovery codes shown
and downloaded, the step-up the server asks for before a second factor is added, MFA sign-ins
with the app (after a wrong code), an SMS code read from the ``file`` outbox and a recovery code,
new recovery codes, and a factor removed.

With ``PROTEKT_SCREENSHOTS=1`` the screenshots go to examples/webapp/screenshots for its README.

Also, without a browser (Flask's test client, the real server): concurrent pages of one session
near the access token's expiry refresh it one at a time and keep the user signed in; and a sign-in
while Protekt's keys cannot be fetched is answered 503 and its refresh token revoked.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect, sync_playwright

from protekt import Jwks, Protekt
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_mfa_flow import need, oathtool_device
from tests.examples import webapp_module
from tests.support import (
    Outbox,
    TotpDevice,
    free_port,
    run_parallel,
    scanned_secret,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "examples" / "webapp"
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.e2e
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium missing (Debian package chromium; ./scripts/test.sh installs it)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
EMAIL = "webapp-user@example.org"
PHONE = "+16505550123"
MASKED_PHONE = "+1******0123"
LOG = "webapp.log"
RECOVERY_CODE = re.compile(r"^[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}$", re.MULTILINE)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REFRESH_LATENCY = 0.2  # seconds, on each refresh grant: long enough for requests to overlap


@dataclass
class Journey:
    """The browser tab on the app, the user's phone (the outbox) and authenticator app."""

    page: Page
    url: str
    outbox: Outbox
    shots: Path
    device: TotpDevice | None = None

    def open(self, path: str) -> None:
        self.page.goto(self.url + path)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def sign_in(self, password: str = PASSWORD) -> None:
        self.page.get_by_label("Email").fill(EMAIL)
        self.page.get_by_label("Password").fill(password)
        self.click("Sign in")

    def follow(self, name: str) -> None:
        self.page.get_by_role("link", name=name, exact=True).click()

    def choose(self, factor: str) -> None:
        self.page.locator(".choice", has_text=factor).click()

    def enter_code(self, code: str) -> None:
        self.page.get_by_label(re.compile("code", re.IGNORECASE)).fill(code)
        self.click("Verify")

    def expect_home(self, amr: str) -> None:
        expect(self.page.locator("#who")).to_have_text(EMAIL)
        expect(self.page.locator("#amr")).to_have_text(amr)

    def sign_out(self) -> None:
        self.click("Sign out")
        expect(self.page.get_by_role("status")).to_have_text("You are signed out.")

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / name, full_page=True)


@pytest.fixture
def app_url(make_deployment: Callable[..., Deployment], outbox: Outbox,
            tmp_path: Path) -> Iterator[str]:
    """Protekt with MFA on (app, SMS, recovery codes), a fresh user, and the web app on it."""
    need("zbarimg", "zbar-tools")
    need("oathtool", "oathtool")
    deployment = make_deployment(PROTEKT_SMS_PROVIDER="file", PROTEKT_SMS_OUTBOX=str(outbox.path))
    deployment.cli("mfa", "settings", "--enable", "--factors", "otp,sms,recovery-code")
    deployment.cli("sms", "credits", "--add", "10")
    deployment.cli("create-user", "--email", EMAIL, "--password", PASSWORD)
    port = free_port()
    log = tmp_path / LOG
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, str(WEBAPP / "app.py")], stdout=sink, stderr=subprocess.STDOUT,
            env={**os.environ, "PROTEKT_DOMAIN": deployment.url, "PORT": str(port),
                 "PROTEKT_CLIENT_ID": deployment.client_id,
                 "PROTEKT_CLIENT_SECRET": deployment.client_secret,
                 "WEBAPP_SECRET_KEY": secrets.token_hex(32)})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url, process, log), timeout=20)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the web app exited:\n{log.read_text()}")
    try:
        return requests.get(f"{url}/login", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def journey(app_url: str, outbox: Outbox, tmp_path: Path) -> Iterator[Journey]:
    """A tab of headless Chromium (Debian's, through Playwright) for the web app."""
    shots = WEBAPP / "screenshots" if os.environ.get("PROTEKT_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, viewport={"width": 900,
                                                                       "height": 700})
        context.set_default_timeout(10_000)
        try:
            yield Journey(context.new_page(), app_url, outbox, shots)
        finally:
            browser.close()


@needs_chromium
def test_a_user_signs_in_sets_up_mfa_and_uses_every_factor(journey: Journey,
                                                            tmp_path: Path) -> None:
    sign_in_with_password(journey)
    codes = add_authenticator_app(journey, tmp_path)
    add_phone_needs_step_up(journey)
    sign_in_with_app_after_a_wrong_code(journey)
    add_phone(journey)
    sign_in_with_sms(journey)
    sign_in_with_recovery_code(journey, codes[0])
    new_codes = regenerate_codes_and_remove_phone(journey, codes)
    only_new_recovery_codes_sign_in(journey, codes[1], new_codes[0])
    log = (tmp_path / LOG).read_text()
    assert "GET /security HTTP" in log  # the log is the app's request log
    assert journey.device is not None
    secrets_shown = [PASSWORD, PHONE, journey.device.secret, *codes, *new_codes]
    assert not [value for value in secrets_shown if value in log]


def sign_in_with_password(journey: Journey) -> None:
    """No MFA yet: a wrong password is refused in the server's words, the right one signs in."""
    journey.open("/")
    expect(journey.page.get_by_role("heading", name="Sign in")).to_be_visible()
    journey.screenshot("sign-in.png")
    journey.sign_in("not the password")
    expect(journey.page.get_by_role("alert")).to_have_text("Wrong email or password.")
    journey.sign_in()
    journey.expect_home("pwd")


def add_authenticator_app(journey: Journey, tmp_path: Path) -> list[str]:
    """QR code and secret on the page, first code from oathtool, then the recovery codes."""
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


def add_phone_needs_step_up(journey: Journey) -> None:
    """The session is password-only and the user now has a factor: the server wants a step-up."""
    page = journey.page
    journey.follow("Add phone")
    page.get_by_label("Mobile number, in international format").fill(PHONE)
    journey.click("Add phone")
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("needs a sign-in with your second factor")).to_be_visible()
    journey.click("Sign in again with your second factor")
    expect(page.get_by_role("status")).to_contain_text("Sign in again with your second factor")
    expect(page.get_by_label("Email")).to_have_value(EMAIL)


def sign_in_with_app_after_a_wrong_code(journey: Journey) -> None:
    """The MFA step offers the user's factors; a wrong code may be retried on the same page."""
    page = journey.page
    journey.sign_in()
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(page.locator(".choice strong")).to_have_text(["Authenticator app", "Recovery code"])
    journey.screenshot("mfa-step.png")
    journey.choose("Authenticator app")
    assert journey.device is not None
    right = journey.device.next_code()
    journey.enter_code("000000" if right != "000000" else "111111")
    expect(page.get_by_role("alert")).to_contain_text("Invalid verification code")
    journey.enter_code(right)
    expect(page.get_by_role("heading", name="Security settings")).to_be_visible()
    journey.follow("Home")
    journey.expect_home("pwd otp mfa")


def add_phone(journey: Journey) -> None:
    """With an MFA session the phone is added, active at once, and listed masked."""
    page = journey.page
    journey.follow("Security")
    journey.follow("Add phone")
    page.get_by_label("Mobile number, in international format").fill(PHONE)
    journey.click("Add phone")
    expect(page.get_by_role("status")).to_contain_text("Phone added")
    expect(page.locator("table")).to_contain_text(MASKED_PHONE)
    assert PHONE not in page.content()


def sign_in_with_sms(journey: Journey) -> None:
    """Sign in again, choosing a text message: the code comes from the SMS outbox."""
    journey.sign_out()
    journey.sign_in()
    journey.choose("Text message (SMS)")
    expect(journey.page.get_by_text("We sent a 6-digit code to your phone")).to_be_visible()
    journey.enter_code(journey.outbox.last_code(PHONE))
    journey.expect_home("pwd sms mfa")


def sign_in_with_recovery_code(journey: Journey, code: str) -> None:
    """A code from the downloaded file signs in once."""
    journey.sign_out()
    journey.sign_in()
    journey.choose("Recovery code")
    journey.enter_code(code)
    expect(journey.page.get_by_role("status")).to_contain_text("9 recovery codes left")
    journey.expect_home("pwd mfa")


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
    """After regeneration, a code of the old set is refused and one of the new set signs in."""
    journey.sign_in()
    expect(journey.page.locator(".choice strong")).to_have_text(["Authenticator app",
                                                                 "Recovery code"])
    journey.choose("Recovery code")
    journey.enter_code(old_code)
    expect(journey.page.get_by_role("alert")).to_contain_text("Invalid verification code")
    journey.enter_code(new_code)
    journey.expect_home("pwd mfa")


class ProtektHttp(requests.Session):
    """The web app's HTTP to Protekt, with network latency on refresh grants; keeps the token
    endpoint's answers so the test can check what became of the tokens the app was given."""

    def __init__(self) -> None:
        super().__init__()
        self.token_answers: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        grant = (kwargs.get("data") or {}).get("grant_type")
        if grant == "refresh_token":
            time.sleep(REFRESH_LATENCY)
        response = super().request(method, url, *args, **kwargs)
        if grant is not None and response.ok:
            self.token_answers.append(response.json())
        return response


def webapp_on(deployment: Deployment, http: ProtektHttp) -> Flask:
    """The example web app (in this process) on the deployment, its HTTP to Protekt through http."""
    app_module = webapp_module("app")
    extension = webapp_module("user_session").EXTENSION
    app = app_module.create_app(app_module.Settings(deployment.url, deployment.client_id,
                                                    deployment.client_secret,
                                                    secrets.token_hex(32)))
    app.extensions[extension].client = Protekt(deployment.url, deployment.client_id,
                                               deployment.client_secret, session=http)
    return app


def submit_password(client: FlaskClient, deployment: Deployment) -> Any:
    """The sign-in form, filled in with the deployment's user and submitted."""
    match = CSRF.search(client.get("/login").text)
    assert match is not None
    return client.post("/login", data={"csrf_token": match.group(1), "email": deployment.email,
                                       "password": PASSWORD})


def test_concurrent_pages_near_token_expiry_keep_the_user_signed_in(
        make_deployment: Callable[..., Deployment]) -> None:
    """Each page needs a refresh (the access token lives no longer than the refresh margin); two
    at once must not spend the same refresh token, which would revoke the user's session."""
    margin = webapp_module("user_session").REFRESH_MARGIN
    deployment = make_deployment(PROTEKT_ACCESS_TOKEN_TTL=str(margin))
    http = ProtektHttp()
    client = webapp_on(deployment, http).test_client()
    signed_in = submit_password(client, deployment)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/")
    pages = run_parallel(2, lambda: client.get("/security").status_code)
    assert pages == [200, 200]
    assert client.get("/security").status_code == 200
    refresh_tokens = [answer["refresh_token"] for answer in http.token_answers]
    assert len(refresh_tokens) == 4  # the sign-in, then one refresh per page, one at a time
    assert len(set(refresh_tokens)) == 4


def test_a_sign_in_while_protekts_keys_are_unavailable_is_undone(deployment: Deployment) -> None:
    """The ID token cannot be verified: 503 on the sign-in form, the refresh token revoked."""
    http = ProtektHttp()
    app = webapp_on(deployment, http)
    user_session = webapp_module("user_session")
    webapp = app.extensions[user_session.EXTENSION]
    verifier = webapp.id_tokens
    nowhere = Jwks(f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", timeout=2)
    webapp.id_tokens = user_session.IdTokenVerifier(deployment.url, deployment.client_id, nowhere)
    client = app.test_client()
    refused = submit_password(client, deployment)
    assert refused.status_code == 503
    assert "Protekt is unavailable, try again in a moment." in refused.text
    assert f'value="{deployment.email}"' in refused.text
    (issued,) = http.token_answers
    reused = deployment.token(grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert client.get("/").headers["Location"] == "/login"  # not signed in
    webapp.id_tokens = verifier  # the keys are back: the user signs in
    assert submit_password(client, deployment).headers["Location"] == "/"
