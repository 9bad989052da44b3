"""Adaptive MFA (README, MFA policies): an application whose rule is ``adaptive`` asks a second
factor by the login's risk: a new device or network, recent failed passwords, a common
password; a completed login makes its device and network known. Each signal's weight and the
thresholds are the MFA settings' defaults (2, 1, 2, 2; medium from 2, high from 4)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.errors import InvalidRequest
from authserver.extensions import services
from authserver.models import AuditEvent, KnownContext
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    assert_error,
    enroll,
    mfa_grant,
    token,
    unverified,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def adaptive(app: Flask, web_app: RegisteredClient, mfa_user: EnrolledUser) -> RegisteredClient:
    """The web app turned adaptive, once Ann has enrolled (a user with no factor is asked to
    enroll one on a risky login, as under a required policy)."""
    with app.app_context():
        services.flows.client_administration.update(web_app.client_id, mfa_policy="adaptive")
    return web_app


def login(client: FlaskClient, app_client: RegisteredClient, device: str | None = "laptop",
          password: str = PASSWORD, email: str = "ann@example.org") -> Any:
    form = {"grant_type": "password", "username": email, "password": password}
    if device is not None:
        form["device_id"] = device
    return token(client, form, auth=app_client.basic)


def finish(client: FlaskClient, app_client: RegisteredClient, answer: Any,
           user: EnrolledUser) -> dict[str, Any]:
    """The second factor (a recovery code: no wait for an app's next step)."""
    body = assert_error(answer, "mfa_required", 403)
    done = mfa_grant(client, app_client, "mfa-recovery-code", mfa_token=body["mfa_token"],
                     recovery_code=user.recovery_codes.pop())
    assert done.status_code == 200, done.get_json()
    return done.get_json()


def risks(app: Flask) -> list[tuple[str, list[str]]]:
    with app.app_context():
        return [(e.detail["level"], e.detail["signals"]) for e in services.session.query(
            AuditEvent).filter_by(type="mfa.risk").order_by(AuditEvent.id)]


@pytest.fixture
def known(client: FlaskClient, adaptive: RegisteredClient, mfa_user: EnrolledUser) -> None:
    """Ann signed in once from her laptop, with her second factor."""
    finish(client, adaptive, login(client, adaptive), mfa_user)


def test_a_first_login_is_asked_and_then_the_device_and_network_are_known(
        app: Flask, client: FlaskClient, adaptive: RegisteredClient,
        mfa_user: EnrolledUser) -> None:
    finish(client, adaptive, login(client, adaptive), mfa_user)
    again = login(client, adaptive)
    assert again.status_code == 200, again.get_json()
    assert unverified(again.get_json()["access_token"])[1]["amr"] == ["pwd"]
    assert risks(app) == [("medium", ["new_device", "new_network"]), ("low", [])]
    with app.app_context():
        stored = {row.kind: row.value for row in services.session.query(KnownContext)}
    assert set(stored) == {"device", "network"}
    assert all(len(value) == 64 and "laptop" not in value and "127.0.0" not in value
               for value in stored.values())  # keyed hashes, never the values


@pytest.mark.usefixtures("known")
def test_a_new_device_is_asked(client: FlaskClient, adaptive: RegisteredClient) -> None:
    assert_error(login(client, adaptive, device="phone"), "mfa_required", 403)
    assert_error(login(client, adaptive, device=None), "mfa_required", 403)


@pytest.mark.usefixtures("known")
def test_three_failed_passwords_make_the_next_login_ask(
        app: Flask, client: FlaskClient, adaptive: RegisteredClient) -> None:
    for _ in range(3):
        assert_error(login(client, adaptive, password="wrong password"), "invalid_grant", 400)
    answer = login(client, adaptive)
    assert_error(answer, "mfa_required", 403)
    assert risks(app)[-1] == ("medium", ["recent_failures"])


def test_a_common_password_is_asked_from_a_known_device(
        app: Flask, client: FlaskClient, adaptive: RegisteredClient, make_user: Any,
        make_client: Any) -> None:
    make_user("bob@example.org", "password1")
    plain = make_client(name="Plain app")  # enrolls Bob: inherit, no risk read
    bob = enroll(client, plain, username="bob@example.org", password="password1")
    with app.app_context():  # Bob's first login (new device and network) stays below high
        services.flows.security_settings.update(adaptive_high=6)
    finish(client, adaptive, login(client, adaptive, email="bob@example.org",
                                   password="password1"), bob)
    answer = login(client, adaptive, email="bob@example.org", password="password1")
    assert_error(answer, "mfa_required", 403)
    assert risks(app)[-1] == ("medium", ["common_password"])


@pytest.mark.usefixtures("known")
def test_high_risk_takes_a_passkey_or_is_refused(
        app: Flask, client: FlaskClient, adaptive: RegisteredClient) -> None:
    for _ in range(3):
        login(client, adaptive, password="wrong password")
    refused = assert_error(login(client, adaptive, device="phone"), "access_denied", 403)
    assert "webauthn" in refused["error_description"]  # Ann has no passkey to answer with
    with app.app_context():
        services.flows.security_settings.update(adaptive_block_high=True)
    blocked = assert_error(login(client, adaptive, device="phone"), "access_denied", 403)
    assert "too risky" in blocked["error_description"]


@pytest.mark.usefixtures("known")
def test_a_low_risk_login_refreshes(client: FlaskClient, adaptive: RegisteredClient) -> None:
    tokens = login(client, adaptive).get_json()
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": tokens["refresh_token"]}, auth=adaptive.basic)
    assert refreshed.status_code == 200, refreshed.get_json()


def test_the_thresholds_are_checked(app: Flask) -> None:
    with app.app_context(), pytest.raises(InvalidRequest, match="adaptive_high must be at"):
        services.flows.security_settings.update(adaptive_medium=5, adaptive_high=3)
