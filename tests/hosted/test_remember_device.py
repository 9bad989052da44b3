"""Remembering a browser (README, MFA policies): after a second factor on the hosted pages,
"Remember this browser" skips the second step of later sign-ins in that browser (the password
is still asked), never a group's or an ``always`` application's; listed and forgotten through
the management API, and ended by a password change."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.api.test_management import API, call, management_token
from tests.conftest import EnrolledUser, RegisteredClient, unverified
from tests.hosted.conftest import Browser, Request, back_at_app, exchange

PROMPT_LOGIN = {"prompt": "login"}
NEW_PASSWORD = "a brand new password"  # a new sign-in with the password, in the same browser


def sign_in_remembering(browser: Browser, rp: RegisteredClient, user: EnrolledUser,
                        remember: bool = True) -> dict[str, str]:
    request = Request(rp)
    page = browser.sign_in(request)
    assert "Remember this browser for 30 days" in page.get_data(as_text=True)
    fields = {"factor": "recovery-code", "code": user.recovery_codes.pop()}
    if remember:
        fields["remember"] = "yes"
    return back_at_app(browser.follow(browser.submit(page, "/signin/mfa", **fields)), request)


def second_step_asked(browser: Browser, rp: RegisteredClient,
                      password: str = "correct horse battery") -> bool:
    """Sign in again with the password: is the second factor asked?"""
    answer = browser.sign_in(Request(rp, extra=PROMPT_LOGIN), password=password)
    return answer.status_code == 200 and "Confirm it" in answer.get_data(as_text=True)


def test_a_remembered_browser_skips_the_second_step(
        client: FlaskClient, browser: Browser, rp: RegisteredClient,
        mfa_user: EnrolledUser) -> None:
    sign_in_remembering(browser, rp, mfa_user)
    request = Request(rp, extra=PROMPT_LOGIN)
    answer = browser.sign_in(request)
    code = back_at_app(answer, request)["code"]
    claims = unverified(exchange(client, request, code).get_json()["id_token"])[1]
    assert claims["amr"] == ["pwd"]  # the password alone: no mfa claimed


def test_without_the_box_the_second_step_is_asked_again(
        browser: Browser, rp: RegisteredClient, mfa_user: EnrolledUser) -> None:
    sign_in_remembering(browser, rp, mfa_user, remember=False)
    assert second_step_asked(browser, rp)


def test_another_browser_is_asked(client: FlaskClient, app: Flask, rp: RegisteredClient,
                                  mfa_user: EnrolledUser) -> None:
    sign_in_remembering(Browser(client), rp, mfa_user)
    assert second_step_asked(Browser(app.test_client()), rp)


def test_a_group_that_always_asks_is_not_skipped(
        app: Flask, browser: Browser, rp: RegisteredClient, *, mfa_user: EnrolledUser,
        user: Any) -> None:
    sign_in_remembering(browser, rp, mfa_user)
    with app.app_context():
        group = services.flows.group_administration.create("admins", mfa_always=True)
        services.flows.group_administration.add_member(group.id, user.id)
    assert second_step_asked(browser, rp)


@pytest.mark.parametrize("ending", ["forget one", "forget all", "new password"])
def test_forgetting_or_a_new_password_ends_it(
        client: FlaskClient, browser: Browser, rp: RegisteredClient, *, make_client: Any,
        mfa_user: EnrolledUser, user: Any, ending: str) -> None:
    sign_in_remembering(browser, rp, mfa_user)
    machine = make_client(name="Ops", grant_types=["client_credentials"],
                          scopes=["read:users", "update:users"], audiences=[API])
    admin = management_token(client, machine, "read:users update:users")
    path = f"/api/v2/users/{user.id}/trusted-devices"
    listed = call(client, "GET", path, admin).get_json()["trusted_devices"]
    assert len(listed) == 1 and listed[0]["label"]
    if ending == "forget one":
        assert call(client, "DELETE", f"{path}/{listed[0]['id']}", admin).status_code == 204
    elif ending == "forget all":
        assert call(client, "DELETE", path, admin).status_code == 204
    else:
        changed = call(client, "PATCH", f"/api/v2/users/{user.id}", admin,
                       {"password": NEW_PASSWORD})
        assert changed.status_code == 200
    assert call(client, "GET", path, admin).get_json() == {"trusted_devices": []}
    password = NEW_PASSWORD if ending == "new password" else "correct horse battery"
    assert second_step_asked(browser, rp, password)


def test_the_box_is_not_offered_when_switched_off(
        app: Flask, browser: Browser, rp: RegisteredClient, mfa_user: EnrolledUser) -> None:
    with app.app_context():
        services.flows.security_settings.update(remember_device_days=0)
    page = browser.sign_in(Request(rp))
    assert "Remember this browser" not in page.get_data(as_text=True)
