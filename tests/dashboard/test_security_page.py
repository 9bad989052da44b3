"""The Security section changes the MFA settings through the same checks as the management
API; a change applies to the next login; the SMS template preview; credits top-up."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from authserver.mfa.settings import MfaSettings
from tests.conftest import RegisteredClient, password_login
from tests.dashboard.conftest import Console, csrf_of


def form_of(settings: MfaSettings, **changes: Any) -> dict[str, Any]:
    """The Security form as a browser posts it (unticked boxes are absent)."""
    values = {**settings.as_dict(), **changes}
    form = {name: value for name, value in values.items() if not isinstance(value, bool)}
    form.update({name: "on" for name, value in values.items() if value is True})
    form["sms_allowed_countries"] = ", ".join(values["sms_allowed_countries"])
    return form


def saved(app: Flask) -> MfaSettings:
    with app.app_context():
        return services.mfa.settings.load()


def test_the_page_shows_the_settings_and_a_preview(console: Console) -> None:
    page = console.get("/security").get_data(as_text=True)
    assert 'name="totp_issuer" value="Protekt"' in page
    assert "123456 is your Protekt verification code. It expires in 5 minutes." in page


def test_switching_sms_off_takes_it_out_of_the_next_login(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    console.post("/security", form_of(saved(app), policy="required"))
    offered = password_login(client, web_app).get_json()["mfa_requirements"]["enroll"]
    assert {"type": "sms"} in offered
    answer = console.post("/security", form_of(saved(app), factors=["otp", "recovery-code"]))
    assert answer.status_code == 302
    assert "Saved." in console.get("/security").get_data(as_text=True)
    body = password_login(client, web_app).get_json()
    assert body["mfa_requirements"] == {"enroll": [{"type": "otp"}]}


def test_switching_mfa_off_lets_the_password_through(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    console.post("/security", form_of(saved(app), policy="required"))
    assert password_login(client, web_app).status_code == 403
    console.post("/security", form_of(saved(app), enabled=False))
    assert password_login(client, web_app).status_code == 200


@pytest.mark.parametrize(("changes", "message"), [
    ({"sms_template": "Your code is ready"}, "sms_template must contain {code}"),
    ({"sms_template": "{code} {user}"}, "unknown placeholder {user}"),
    ({"sms_template": "{code} " + "x" * 200}, "SMS segments"),
    ({"totp_issuer": "Acme: Inc"}, "totp_issuer must be"),
    ({"mfa_token_ttl": "5"}, "mfa_token_ttl must be a whole number from 60 to 3600"),
    ({"token_max_failures": "three"}, "token_max_failures must be a whole number from 1 to 10"),
    ({"mfa_token_ttl": "9" * 5000}, "mfa_token_ttl must be a whole number from 60 to 3600"),
    ({"factors": ["recovery-code"]}, "factors must include one users can enroll"),
    ({"sms_allowed_countries": ["XX"]}, "'XX' is not an ISO 3166-1 alpha-2 country code"),
    ({"policy": "sometimes"}, "policy must be one of optional, required"),
])
def test_a_wrong_value_is_explained_and_nothing_is_saved(
    app: Flask, console: Console, changes: dict[str, Any], message: str,
) -> None:
    before = saved(app)
    answer = console.post("/security", form_of(before, sms_code_minutes=7, **changes))
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page.replace("&#39;", "'").replace("&#34;", '"')
    assert 'value="7"' in page  # what was typed is still in the form
    assert saved(app) == before


def test_the_preview_follows_the_typed_template(app: Flask, console: Console) -> None:
    form = form_of(saved(app), sms_template="{app_name}: {code} ({minutes} min)",
                   totp_issuer="Acme", sms_code_minutes="9", action="preview")
    preview = console.post("/security", form).get_json()
    assert preview == {"text": "Acme: 123456 (9 min)", "segments": 1, "characters": 20}
    refused = console.post("/security", {**form, "sms_template": "no code"}).get_json()
    assert refused == {"error": "sms_template must contain {code}, where the code goes."}
    assert saved(app) == MfaSettings()  # a preview saves nothing


def test_the_issuer_name_and_limits_are_saved(app: Flask, console: Console) -> None:
    console.post("/security", form_of(saved(app), totp_issuer="Acme", mfa_token_ttl="300",
                                      token_max_failures="3", sms_allowed_countries=["us", "GB"]))
    settings = saved(app)
    assert (settings.totp_issuer, settings.mfa_token_ttl, settings.token_max_failures) == (
        "Acme", 300, 3)
    assert settings.sms_allowed_countries == ("US", "GB")


def test_credits_are_topped_up(app: Flask, console: Console) -> None:
    answer = console.post("/security/credits", {"add": "250"})
    assert answer.status_code == 302
    page = console.get("/security").get_data(as_text=True)
    assert "Added 250 credits; the balance is 250." in page
    assert '<strong id="credit-balance">250</strong>' in page


@pytest.mark.parametrize("amount", ["0", "-5", "ten", "", "1000000001", "9" * 5000])
def test_a_wrong_top_up_is_explained_and_adds_nothing(app: Flask, console: Console,
                                                      amount: str) -> None:
    console.post("/security/credits", {"add": amount})
    assert "A top-up must be a whole number" in console.get("/security").get_data(as_text=True)
    with app.app_context():
        assert services.mfa.sms_credits.balance() == 0


def test_the_form_carries_the_csrf_token(console: Console) -> None:
    assert csrf_of(console.get("/security")) == console.csrf
