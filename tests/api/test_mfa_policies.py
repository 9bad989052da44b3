"""MFA policies per application and group (README, MFA policies), through the API: groups and
their members at /api/v2/groups, each application's rule in /api/v2/clients, and what the
password grant, the MFA grants and the refresh grant then do; the rule that asked is in the
``mfa.required`` audit event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from authserver.models import AuditEvent
from tests.api.test_management import API, call, management_token
from tests.api.test_passkeys import enroll_passkey
from tests.conftest import (
    EnrolledUser,
    RegisteredClient,
    assert_error,
    mfa_grant,
    password_login,
    token,
    unverified,
)
from tests.softkey import SoftKey

GROUPS = "/api/v2/groups"


def manage(client: FlaskClient, make_client: Callable[..., RegisteredClient]) -> str:
    """A management token for groups and clients."""
    machine = make_client(name="Ops", grant_types=["client_credentials"],
                          scopes=["read:groups", "update:groups", "read:clients",
                                  "update:clients"], audiences=[API])
    return management_token(client, machine, "read:groups update:groups read:clients "
                                             "update:clients")


def new_group(client: FlaskClient, admin: str, **body: Any) -> dict[str, Any]:
    made = call(client, "POST", GROUPS, admin, {"name": "admins", **body})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def join(client: FlaskClient, admin: str, group: dict[str, Any], user_id: str) -> None:
    joined = call(client, "PUT", f"{GROUPS}/{group['id']}/members/{user_id}", admin)
    assert joined.status_code == 204, joined.get_data(as_text=True)


def app_rule(client: FlaskClient, admin: str, app: RegisteredClient, **rule: Any) -> None:
    changed = call(client, "PATCH", f"/api/v2/clients/{app.client_id}", admin, rule)
    assert changed.status_code == 200, changed.get_json()


def reasons(app: Flask) -> list[str]:
    with app.app_context():
        return [e.detail["reason"] for e in services.session.query(AuditEvent)
                .filter_by(type="mfa.required").order_by(AuditEvent.id)]


def test_groups_and_members_are_managed_through_the_api(
        client: FlaskClient, make_client: Any, user: Any) -> None:
    admin = manage(client, make_client)
    group = new_group(client, admin, description="Console operators", mfa_always=True,
                      mfa_factors=["phishing-resistant"])
    assert (group["name"], group["mfa_always"], group["mfa_factors"]) == (
        "admins", True, ["phishing-resistant"])
    assert call(client, "GET", GROUPS, admin).get_json()["groups"] == [group]
    join(client, admin, group, user.id)
    join(client, admin, group, user.id)  # again: no change
    members = call(client, "GET", f"{GROUPS}/{group['id']}/members", admin).get_json()
    assert members == {"members": [{"user_id": user.id, "email": "ann@example.org"}]}
    renamed = call(client, "PATCH", f"{GROUPS}/{group['id']}", admin, {"name": "ops"})
    assert renamed.get_json()["name"] == "ops"
    assert call(client, "DELETE", f"{GROUPS}/{group['id']}/members/{user.id}",
                admin).status_code == 204
    assert call(client, "DELETE", f"{GROUPS}/{group['id']}", admin).status_code == 204
    assert_error(call(client, "GET", f"{GROUPS}/{group['id']}", admin), "not_found", 404)


@pytest.mark.parametrize(("body", "said"), [
    ({"name": ""}, "'name' must be 1 to 100 characters"),
    ({"name": "x", "mfa_factors": ["fingerprint"]}, "Unknown factor 'fingerprint'"),
    ({"name": "x", "mfa_always": "yes"}, "'mfa_always' must be true or false"),
    ({"name": "x", "colour": "red"}, "Unknown group field 'colour'"),
])
def test_a_bad_group_is_refused_and_nothing_is_made(
        client: FlaskClient, make_client: Any, body: dict[str, Any], said: str) -> None:
    admin = manage(client, make_client)
    refused = call(client, "POST", GROUPS, admin, body)
    assert said in assert_error(refused, "invalid_request", 400)["error_description"]
    assert call(client, "GET", GROUPS, admin).get_json()["groups"] == []


def test_a_group_name_is_unique_and_members_must_exist(
        client: FlaskClient, make_client: Any) -> None:
    admin = manage(client, make_client)
    group = new_group(client, admin)
    assert_error(call(client, "POST", GROUPS, admin, {"name": "admins"}), "invalid_request", 400)
    assert_error(call(client, "PUT", f"{GROUPS}/{group['id']}/members/nobody", admin),
                 "not_found", 404)


def test_an_always_app_asks_a_user_who_would_not_be_asked(
        app: Flask, client: FlaskClient, make_client: Any, web_app: RegisteredClient,
        user: Any) -> None:
    admin = manage(client, make_client)
    assert password_login(client, web_app).status_code == 200  # no factor: not asked
    app_rule(client, admin, web_app, mfa_policy="always")
    body = assert_error(password_login(client, web_app), "mfa_required", 403)
    assert "enroll" in body["mfa_requirements"]
    assert reasons(app) == ["app_always"]


def test_a_never_app_does_not_ask_an_enrolled_user_unless_a_group_does(
        app: Flask, client: FlaskClient, make_client: Any, web_app: RegisteredClient, *,
        mfa_user: EnrolledUser, user: Any) -> None:
    admin = manage(client, make_client)
    app_rule(client, admin, web_app, mfa_policy="never")
    tokens = password_login(client, web_app).get_json()
    assert unverified(tokens["access_token"])[1]["amr"] == ["pwd"]
    join(client, admin, new_group(client, admin, mfa_always=True), user.id)
    assert_error(password_login(client, web_app), "mfa_required", 403)
    assert reasons(app)[-1] == "group:admins"


def test_a_group_requiring_passkeys_refuses_an_app_code(
        app: Flask, client: FlaskClient, make_client: Any, web_app: RegisteredClient,
        user: Any) -> None:
    key = SoftKey(rp_id="127.0.0.1", origin="http://127.0.0.1:8000")
    enroll_passkey(client, web_app, key)  # the passkey first: then the group's rule
    admin = manage(client, make_client)
    group = new_group(client, admin, mfa_factors=["phishing-resistant"])
    join(client, admin, group, user.id)
    body = assert_error(password_login(client, web_app), "mfa_required", 403)
    assert body["available_factors"] == ["webauthn-platform"]  # no recovery code either
    refused = mfa_grant(client, web_app, "mfa-recovery-code", mfa_token=body["mfa_token"],
                        recovery_code="AAAA-BBBB-CCCC-DDDD")
    assert "may not be finished with recovery-code" in assert_error(
        refused, "invalid_grant", 400)["error_description"]


def test_a_group_rule_the_user_cannot_meet_is_refused_with_what_it_needs(
        client: FlaskClient, make_client: Any, web_app: RegisteredClient,
        mfa_user: EnrolledUser, user: Any) -> None:
    admin = manage(client, make_client)
    join(client, admin, new_group(client, admin, mfa_factors=["webauthn-roaming"]), user.id)
    refused = assert_error(password_login(client, web_app), "access_denied", 403)
    assert "webauthn-roaming" in refused["error_description"]


def test_a_refresh_from_a_password_login_stops_when_the_app_turns_always(
        client: FlaskClient, make_client: Any, web_app: RegisteredClient, user: Any) -> None:
    first = password_login(client, web_app).get_json()
    admin = manage(client, make_client)
    app_rule(client, admin, web_app, mfa_policy="always")
    refreshed = token(client, {"grant_type": "refresh_token",
                               "refresh_token": first["refresh_token"]}, auth=web_app.basic)
    assert "MFA" in assert_error(refreshed, "invalid_grant", 400)["error_description"]


def test_an_app_rule_is_checked(client: FlaskClient, make_client: Any,
                                web_app: RegisteredClient) -> None:
    admin = manage(client, make_client)
    for rule, said in (({"mfa_policy": "sometimes"}, "mfa_policy must be one of"),
                       ({"mfa_factors": ["otp", "pigeon"]}, "Unknown factor 'pigeon'")):
        refused = call(client, "PATCH", f"/api/v2/clients/{web_app.client_id}", admin, rule)
        assert said in assert_error(refused, "invalid_request", 400)["error_description"]
    shown = call(client, "GET", f"/api/v2/clients/{web_app.client_id}", admin).get_json()
    assert (shown["mfa_policy"], shown["mfa_factors"]) == ("inherit", [])


def test_the_groups_claim_names_the_users_groups_when_asked(
        client: FlaskClient, make_client: Any, web_app: RegisteredClient, user: Any) -> None:
    admin = manage(client, make_client)
    join(client, admin, new_group(client, admin), user.id)
    asked = password_login(client, web_app, scope="openid groups").get_json()
    assert unverified(asked["id_token"])[1]["groups"] == ["admins"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {asked['access_token']}"})
    assert info.get_json()["groups"] == ["admins"]
    plain = password_login(client, web_app, scope="openid").get_json()
    assert "groups" not in unverified(plain["id_token"])[1]
