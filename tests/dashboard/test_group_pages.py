"""Groups, application MFA rules and the "why would this login be asked?" tester in the
dashboard (README, MFA policies)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from authserver.extensions import services
from tests.conftest import EnrolledUser, RegisteredClient
from tests.dashboard.conftest import Console


def group_id(app: Flask, name: str) -> str:
    with app.app_context():
        return next(g.id for g in services.mfa.groups.all() if g.name == name)


def test_a_group_is_made_filled_changed_and_deleted(app: Flask, console: Console,
                                                    user: Any) -> None:
    made = console.post("/groups", {"name": "admins", "mfa_always": "on",
                                    "mfa_factors": ["phishing-resistant"]})
    assert made.status_code == 302
    listed = console.get("/groups").get_data(as_text=True).split('<table id="groups">')[1]
    assert "admins" in listed and "phishing-resistant" in listed
    admins = group_id(app, "admins")
    assert console.post(f"/groups/{admins}/members", {"email": "ann@example.org"}
                        ).status_code == 302
    page = console.get(f"/groups/{admins}").get_data(as_text=True)
    assert "ann@example.org" in page.split('<table id="members">')[1]
    assert console.post(f"/groups/{admins}/rule", {}).status_code == 302
    with app.app_context():
        changed = services.mfa.groups.get(admins)
        assert (changed.mfa_always, changed.mfa_factors) == (False, [])
    assert console.post(f"/groups/{admins}/members/{user.id}/remove").status_code == 302
    assert console.post(f"/groups/{admins}/delete").status_code == 302
    assert "No group yet" in console.get("/groups").get_data(as_text=True)


def test_a_bad_group_or_member_is_explained(app: Flask, console: Console) -> None:
    refused = console.post("/groups", {"name": ""})
    assert refused.status_code == 400 and "must be 1 to 100" in refused.get_data(as_text=True)
    console.post("/groups", {"name": "ops"})
    nobody = console.post(f"/groups/{group_id(app, 'ops')}/members", {"email": "no@example.org"})
    assert nobody.status_code == 400 and "No user with this email" in nobody.get_data(
        as_text=True)


def test_an_applications_mfa_rule_is_set_on_its_page(
        app: Flask, console: Console, web_app: RegisteredClient) -> None:
    saved = console.post(f"/applications/{web_app.client_id}/mfa",
                         {"mfa_policy": "always", "mfa_factors": ["otp"]})
    assert saved.status_code == 302
    with app.app_context():
        client = services.clients.get(web_app.client_id)
        assert (client.mfa_policy, client.mfa_factors) == ("always", ["otp"])
    console.post(f"/applications/{web_app.client_id}/mfa", {"mfa_policy": "sometimes"})
    with app.app_context():
        assert services.clients.get(web_app.client_id).mfa_policy == "always"


def test_the_tester_explains_a_login(app: Flask, console: Console, web_app: RegisteredClient,
                                     mfa_user: EnrolledUser) -> None:
    def verdict(**asked: str) -> str:
        page = console.get("/groups/tester", query_string={
            "email": "ann@example.org", "client_id": web_app.client_id, **asked})
        assert page.status_code == 200, page.get_data(as_text=True)
        return page.get_data(as_text=True).split('id="verdict"')[1].split("</p>")[0]

    assert "A second factor is asked" in verdict() and "enrolled" in verdict()
    assert "No second factor" in verdict(remembered="yes")
    with app.app_context():
        services.flows.client_administration.update(web_app.client_id, mfa_policy="adaptive")
    assert "risk_low" in verdict()
    assert "risk_medium" in verdict(new_device="yes")
    high = verdict(new_device="yes", recent_failures="yes")
    assert "risk_high" in high and "webauthn-platform" in high
    unknown = console.get("/groups/tester", query_string={"email": "nobody@example.org",
                                                          "client_id": web_app.client_id})
    assert unknown.status_code == 400
