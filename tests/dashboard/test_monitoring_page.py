"""Monitoring: the chart and table of MFA success per factor per day, SMS figures and the latest
events, after real MFA logins."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import EnrolledUser, RegisteredClient, mfa_grant, mfa_token, password_login
from tests.dashboard.conftest import Console

BAR = re.compile(r'<rect class="bar (\S+)"[^>]*data-day="([\d-]+)" data-rate="(\d+)">'
                 r"<title>([^<]+)</title>")


def test_the_chart_shows_todays_success_rate_per_factor(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient,
    mfa_user: EnrolledUser,
) -> None:
    console.get("/monitoring")  # the admin's own sign-in is not counted
    for code in ("000000", "111111", mfa_user.device.next_code()):
        mfa_grant(client, web_app, "mfa-otp", mfa_token=mfa_token(client, web_app), otp=code)
    mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=mfa_token(client, web_app),
              recovery_code=mfa_user.recovery_codes[0])
    page = console.get("/monitoring").get_data(as_text=True)
    today = datetime.now(UTC).date().isoformat()
    bars = {factor: (rate, title) for factor, day, rate, title in BAR.findall(page)
            if day == today}
    assert bars["otp"][0] == "33"  # Ann's right code of three
    assert "otp on " + today + ": 33% successful (1 of 3)" in bars["otp"][1]
    assert bars["recovery-code"][0] == "100"
    assert "sms" not in bars  # no attempt, no bar
    assert "mfa.verify.failure" in page and "mfa.recovery_code.used" in page


def test_without_activity_the_page_says_so(console: Console) -> None:
    page = console.get("/monitoring").get_data(as_text=True)
    assert "No SMS in these days." in page
    assert '<strong id="sms-sent">0</strong>' in page


def test_the_page_shows_why_each_application_asked_a_second_factor(
    console: Console, client: FlaskClient, web_app: RegisteredClient, mfa_user: EnrolledUser,
) -> None:
    assert password_login(client, web_app).status_code == 403
    page = console.get("/monitoring").get_data(as_text=True)
    prompts = page.split('<table id="prompts">')[1].split("</table>")[0]
    assert "Web app" in prompts and "<code>enrolled</code> 1" in prompts
