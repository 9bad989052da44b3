"""Administrators and passkeys: with ``admins_phishing_resistant`` on, an administrator without
a passkey answers with their app code, then adds a passkey before the console opens; from then
on only the passkey signs them in (a code is refused before it is checked or spent). The software
authenticator of tests/softkey.py plays the browser and the key; the hosted pages' script
(passkeys.js) posts the same fields in a real browser."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from flask import Flask

from authserver.extensions import services
from tests.dashboard.conftest import Console, csrf_of
from tests.softkey import SoftKey

PAGES = ("/monitoring", "/security", "/users")


def configure(app: Flask, **changes: Any) -> None:
    with app.app_context():
        services.flows.security_settings.update(**changes)


def new_key() -> SoftKey:
    return SoftKey(rp_id="127.0.0.1", origin="http://127.0.0.1:8000")


def creation_options(page: Any) -> dict[str, Any]:
    text = page.get_data(as_text=True)
    return json.loads(html.unescape(text.split("data-creation='", 1)[1].split("'", 1)[0]))


def add_passkey(console: Console, page: Any, key: SoftKey,
                kind: str = "webauthn-roaming") -> Any:
    """From the "Add a passkey" page: choose the kind, create it, post the registration."""
    console.csrf = csrf_of(page)
    create = console.post("/signin/passkey/new", {"kind": kind})
    assert create.status_code == 200, create.get_data(as_text=True)
    console.csrf = csrf_of(create)
    return console.post("/signin/passkey",
                        {"credential": json.dumps(key.register(creation_options(create)))})


def opens_console(console: Console) -> bool:
    return all(console.get(path).status_code == 200 for path in PAGES)


@pytest.fixture
def keyed(app: Flask, console: Console) -> tuple[Console, SoftKey]:
    """The rule switched on; the administrator signs in again with the app and adds a key."""
    configure(app, admins_phishing_resistant=True)
    again = Console(app.test_client(), device=console.device)
    again.password()
    assert console.recovery_codes
    step = again.code(console.recovery_codes.pop())  # a code, with no wait for the app's step
    assert step.status_code == 200 and "Add a passkey" in step.get_data(as_text=True)
    assert not opens_console(again)  # not before the passkey is added
    key = new_key()
    assert add_passkey(again, step, key).status_code == 302
    assert opens_console(again)
    return again, key


def test_an_administrator_without_a_passkey_adds_one_before_the_console_opens(
        app: Flask, keyed: tuple[Console, SoftKey]) -> None:
    with app.app_context():
        events = [e.type for e in services.audit.latest(user_id=None, event_type=None,
                                                        before=None, limit=5)]
    assert "mfa.enrolled" in events and "dashboard.signed_in" in events


def test_then_only_the_passkey_signs_the_administrator_in(
        app: Flask, console: Console, keyed: tuple[Console, SoftKey]) -> None:
    _, key = keyed
    again = Console(app.test_client())
    again.password()
    page = again.get("/signin/code")
    assert 'id="passkey-verify"' in page.get_data(as_text=True)
    assert console.recovery_codes
    refused = again.code(console.recovery_codes[-1])  # refused before it is checked or spent
    assert refused.status_code == 403 and "passkey" in refused.get_data(as_text=True)
    again.csrf = csrf_of(page)
    options = again.post("/signin/passkey/options").get_json()
    assert len(options["allowCredentials"]) == 1
    signed_in = again.post("/signin/code", {"credential": json.dumps(key.assert_(options))})
    assert signed_in.status_code == 302
    assert opens_console(again)


def test_a_registration_from_another_site_is_refused_and_opens_nothing(
        app: Flask, console: Console) -> None:
    configure(app, admins_phishing_resistant=True)
    again = Console(app.test_client())
    again.password()
    assert console.recovery_codes
    step = again.code(console.recovery_codes.pop())
    console_key = SoftKey(rp_id="127.0.0.1", origin="https://evil.example")
    refused = add_passkey(again, step, console_key)
    assert refused.status_code == 400 and "does not verify" in refused.get_data(as_text=True)
    assert not opens_console(again)


def test_the_rule_needs_a_passkey_factor_switched_on(app: Flask, console: Console) -> None:
    page = console.get("/security")
    console.csrf = csrf_of(page)
    with app.app_context():
        settings = services.mfa.settings.load()
    form = {"enabled": "on", "factors": ["otp", "recovery-code"], "policy": settings.policy,
            "totp_issuer": settings.totp_issuer, "sms_template": settings.sms_template,
            "webauthn_user_verification": "preferred", "admins_phishing_resistant": "on"}
    answer = console.post("/security", form)
    assert answer.status_code == 400
    assert "admins_phishing_resistant needs a passkey factor" in answer.get_data(as_text=True)
