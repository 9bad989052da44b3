"""The admin dashboard in headless Chromium, against ``protekt serve`` (2 workers, PostgreSQL,
Redis): an administrator made with ``protekt create-admin`` signs in, adding an authenticator app
from the QR code (read with zbarimg, codes from oathtool); switches SMS off and sees a user's
next login stop offering it; edits the SMS template with its live preview; tops up credits;
creates an application (its secret copied with the page's button) and uses it at the token
endpoint; reads the monitoring chart after successful and failed MFA logins; and resets a
user's MFA, after which that user logs in with the password alone.

With ``PROTEKT_SCREENSHOTS=1`` the screenshots go to docs/screenshots for the README.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MFA_SCOPE
from tests.e2e.conftest import PASSWORD, Deployment, needs_chromium
from tests.e2e.test_mfa_flow import GRANT, bearer, enroll, login, need, oathtool_device
from tests.e2e.test_sms_flow import PHONE
from tests.support import Outbox, TotpDevice, scanned_secret

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin@example.org"
ADMIN_PASSWORD = "the admin's long password"
pytestmark = pytest.mark.e2e


@dataclass
class Console:
    """The administrator's browser tab on the dashboard."""

    page: Page
    url: str
    shots: Path
    device: TotpDevice | None = None

    def open(self, path: str) -> None:
        self.page.goto(f"{self.url}/dashboard{path}")

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def section(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Sections").get_by_role("link", name=name).click()

    def saved(self, text: str) -> None:
        expect(self.page.get_by_role("status").first).to_contain_text(text)

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / f"dashboard-{name}.png", full_page=True)


@pytest.fixture
def deployment(make_deployment: Callable[..., Deployment], tmp_path: Path) -> Deployment:
    need("zbarimg", "zbar-tools")
    outbox = Outbox(tmp_path / "outbox.jsonl")
    made = make_deployment(PROTEKT_SMS_PROVIDER="file", PROTEKT_SMS_OUTBOX=str(outbox.path))
    admin = json.loads(made.cli("create-admin", "--email", ADMIN, "--password", ADMIN_PASSWORD,
                                "--json").stdout)
    assert admin["dashboard"] == f"{made.url}/dashboard/signin"
    return made


@pytest.fixture
def console(browser: Browser, deployment: Deployment, tmp_path: Path) -> Iterator[Console]:
    shots = ROOT / "docs" / "screenshots" if os.environ.get("PROTEKT_SCREENSHOTS") == "1" \
        else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 800},
                                  permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Reset MFA for …?" and the like
    try:
        yield Console(page, deployment.url, shots)
    finally:
        context.close()


@needs_chromium
def test_an_administrator_runs_mfa_from_the_dashboard(console: Console, deployment: Deployment,
                                                      tmp_path: Path) -> None:
    sign_in_adding_an_app(console, tmp_path)
    top_up_credits(console)
    user_device = enroll_app_and_phone(deployment)
    switch_sms_off(console, deployment)
    edit_the_sms_template(console)
    create_an_application_and_use_it(console, deployment)
    read_the_monitoring_chart(console, deployment, user_device)
    reset_the_users_mfa(console, deployment)


def sign_in_adding_an_app(console: Console, tmp_path: Path) -> None:
    """Password, then the first sign-in's app enrollment (QR → zbarimg → oathtool), a wrong
    code refused, the recovery codes shown once; a second browser then signs in with a code."""
    console.open("/security")
    expect(console.page).to_have_url(re.compile(r"/dashboard/signin$"))
    console.page.get_by_label("Email").fill(ADMIN)
    console.page.get_by_label("Password").fill(ADMIN_PASSWORD)
    console.screenshot("sign-in")
    console.click("Continue")
    console.device = oathtool_device(read_qr_code(console, tmp_path))
    console.screenshot("enroll-app")
    console.page.get_by_label("Code from the app").fill("000000")
    console.click("Verify")
    expect(console.page.get_by_role("alert")).to_contain_text("The code is wrong")
    console.page.get_by_label("Code from the app").fill(console.device.next_code())
    console.click("Verify")
    codes = console.page.locator("#recovery-codes").inner_text().split()
    assert len(codes) == 10
    console.page.get_by_role("link", name=re.compile("I have saved them")).click()
    expect(console.page.get_by_role("heading", name="Monitoring")).to_be_visible()


def read_qr_code(console: Console, tmp_path: Path) -> str:
    png = tmp_path / "qr.png"
    console.page.locator("#qr-code").screenshot(path=png)
    secret = scanned_secret(png, ADMIN)
    assert console.page.locator("#secret").inner_text() == secret
    return secret


def top_up_credits(console: Console) -> None:
    console.section("Security")
    console.page.get_by_label("Add credits").fill("500")
    console.click("Top up")
    console.saved("Added 500 credits; the balance is 500.")
    expect(console.page.locator("#credit-balance")).to_have_text("500")


def enroll_app_and_phone(deployment: Deployment) -> TotpDevice:
    """Ann adds an app, then (with a token from a login with a recovery code) a phone."""
    body, device = enroll(deployment)
    mfa_token = login(deployment, MFA_SCOPE).json()["mfa_token"]
    access = deployment.token(grant_type=GRANT + "mfa-recovery-code", mfa_token=mfa_token,
                              recovery_code=body["recovery_codes"][0]).json()["access_token"]
    added = requests.post(f"{deployment.url}/mfa/associate", timeout=10, headers=bearer(access),
                          json={"type": "sms", "phone_number": PHONE})
    assert added.status_code == 200, added.text
    return device


def switch_sms_off(console: Console, deployment: Deployment) -> None:
    """The user has an app and a phone: the login offers both, then no SMS once it is off."""
    assert login(deployment).json()["available_factors"] == ["otp", "sms", "recovery-code"]
    console.page.get_by_label("SMS", exact=True).uncheck()
    console.click("Save changes")
    console.saved("Saved. The change applies from the next login.")
    expect(console.page.get_by_label("SMS", exact=True)).not_to_be_checked()
    for _ in range(4):  # whichever of the two server processes answers
        assert login(deployment).json()["available_factors"] == ["otp", "recovery-code"]


def edit_the_sms_template(console: Console) -> None:
    template = console.page.get_by_label("Message template")
    preview = console.page.locator("#sms-preview-text")
    template.fill("Your {app_name} code: {code}")
    expect(preview).to_have_text("Your Protekt code: 123456")
    expect(console.page.locator("#sms-preview-length")).to_have_text("25 characters, 1 SMS")
    template.fill("Your code is on its way")
    expect(preview).to_have_text("sms_template must contain {code}, where the code goes.")
    template.fill("{code} is your {app_name} code; it expires in {minutes} minutes.")
    console.page.get_by_label("Authenticator app name (TOTP issuer)").fill("Acme")
    expect(preview).to_have_text("123456 is your Acme code; it expires in 5 minutes.")
    console.screenshot("security")
    console.click("Save changes")
    console.saved("Saved.")
    expect(template).to_have_value("{code} is your {app_name} code; it expires in {minutes} "
                                   "minutes.")


def create_an_application_and_use_it(console: Console, deployment: Deployment) -> None:
    console.section("Applications")
    console.page.get_by_label("Name").fill("Shop")
    console.click("Create application")
    expect(console.page.get_by_text("will not be shown again")).to_be_visible()
    client_id = console.page.locator("#client-id").inner_text()
    secret = console.page.locator("#client-secret").inner_text()
    console.screenshot("application-created")
    console.page.locator('[data-copy="client-secret"]').click()
    expect(console.page.locator('[data-copy="client-secret"]')).to_have_text("Copied")
    assert console.page.evaluate("navigator.clipboard.readText()") == secret
    answer = requests.post(f"{deployment.url}/oauth/token", timeout=10, auth=(client_id, secret),
                           data={"grant_type": "password", "username": deployment.email,
                                 "password": PASSWORD})
    assert answer.status_code == 403 and answer.json()["error"] == "mfa_required"
    console.page.get_by_role("link", name="Done").click()
    expect(console.page.get_by_role("heading", name="Shop")).to_be_visible()


def read_the_monitoring_chart(console: Console, deployment: Deployment,
                              device: TotpDevice) -> None:
    """Two wrong app codes and a right one today (the administrator's own sign-in codes are
    not counted): 1 success of 3 attempts."""
    for code in ("000000", "111111", device.next_code()):
        deployment.token(grant_type=GRANT + "mfa-otp", otp=code,
                         mfa_token=login(deployment).json()["mfa_token"])
    console.section("Monitoring")
    today = datetime.now(UTC).date().isoformat()
    bar = console.page.locator(f'#success-chart rect.otp[data-day="{today}"]')
    expect(bar).to_have_attribute("data-rate", "33")
    assert "33% successful (1 of 3)" in (bar.locator("title").text_content() or "")
    recovery = console.page.locator(f'#success-chart rect.recovery-code[data-day="{today}"]')
    expect(recovery).to_have_attribute("data-rate", "100")
    console.screenshot("monitoring")


def reset_the_users_mfa(console: Console, deployment: Deployment) -> None:
    assert login(deployment).status_code == 403
    console.section("Users")
    console.page.get_by_label("Search by email").fill("ann@")
    console.click("Search")
    console.page.get_by_role("link", name=deployment.email).click()
    expect(console.page.locator("#authenticators")).to_contain_text("+1******2671")
    console.screenshot("user")
    console.click("Reset MFA")
    console.saved("Reset MFA: removed 2 authenticator(s)")
    answer = login(deployment)
    assert answer.status_code == 200 and "access_token" in answer.json()
