"""The MFA settings object: defaults, stored changes, and every bound checked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from authserver.errors import InvalidRequest
from authserver.extensions import db, services
from authserver.mfa.settings import MfaSettings
from authserver.models import AuditEvent


def test_defaults_apply_until_changed(app: Flask) -> None:
    with app.app_context():
        assert services.mfa.settings.load() == MfaSettings()
    defaults = MfaSettings()
    assert (defaults.enabled, defaults.policy, defaults.mfa_token_ttl) == (True, "optional", 600)
    assert defaults.factors == ("otp", "sms", "webauthn-platform", "webauthn-roaming",
                                "recovery-code")
    assert (defaults.webauthn_user_verification, defaults.passkey_counts_as_mfa) == (
        "preferred", True)
    limits = (defaults.token_max_failures, defaults.user_failure_burst,
              defaults.user_failure_drain, defaults.user_max_consecutive_failures)
    assert limits == (5, 10, 360, 100)


def test_changes_are_stored_and_audited(app: Flask) -> None:
    with app.app_context():
        services.flows.security_settings.update(policy="required", totp_issuer="Acme",
                                                mfa_token_ttl=300)
    with app.app_context():  # a new request reads them back
        loaded = services.mfa.settings.load()
        events = db.session.scalars(db.select(AuditEvent.detail).where(
            AuditEvent.type == "mfa.settings.updated")).all()
    assert (loaded.policy, loaded.totp_issuer, loaded.mfa_token_ttl) == ("required", "Acme", 300)
    assert events == [{"changed": ["mfa_token_ttl", "policy", "totp_issuer"]}]


def test_only_values_that_change_are_audited(app: Flask) -> None:
    """A form saved whole (the dashboard's) names only what it changed, or nothing at all."""
    with app.app_context():
        services.flows.security_settings.update(**MfaSettings().as_dict())
        services.flows.security_settings.update(**{**MfaSettings().as_dict(), "policy": "required"})
        events = db.session.scalars(db.select(AuditEvent.detail).where(
            AuditEvent.type == "mfa.settings.updated")).all()
    assert events == [{"changed": ["policy"]}]


BAD_CHANGES: list[dict[str, Any]] = [
    {"factors": ["otp", "push"]},
    {"policy": "sometimes"},
    {"policy": "required", "factors": ["recovery-code"]},
    {"factors": ["recovery-code"]},
    {"factors": []},
    {"totp_issuer": ""},
    {"totp_issuer": "a:b"},
    {"totp_issuer": "x" * 65},
    {"mfa_token_ttl": 30},
    {"mfa_token_ttl": "600"},
    {"token_max_failures": 0},
    {"user_failure_burst": True},
    {"user_max_consecutive_failures": 101},
    {"colour": "blue"},
]


@pytest.mark.parametrize("change", BAD_CHANGES)
def test_bad_changes_are_refused_and_nothing_is_stored(app: Flask, change: dict[str, Any]) -> None:
    with app.app_context():
        with pytest.raises(InvalidRequest):
            services.flows.security_settings.update(**change)
        assert services.mfa.settings.load() == MfaSettings()


SMS_BOUNDS = {
    "sms_code_minutes": (1, 15),
    "sms_resend_cooldown": (1, 3600),
    "sms_user_hourly": (1, 1000),
    "sms_phone_hourly": (1, 1000),
    "sms_ip_hourly": (1, 100000),
    "sms_low_credit_threshold": (0, 10**9),
}
#: Exactly 160 GSM characters with the default issuer (7) and 5 minutes: one character more of
#: either does not fit.
FULL_TEMPLATE = "{code} {app_name} {minutes}" + "a" * 144
STORED = {"sms_template": FULL_TEMPLATE, "sms_allowed_countries": ["US"], "sms_confirm_phone": True}

SMS_REFUSALS: list[tuple[dict[str, Any], str]] = [
    *(({name: value}, f"{name} must be a whole number from {low} to {high}")
      for name, (low, high) in SMS_BOUNDS.items()
      for value in (low - 1, high + 1, str(low), True)),
    ({"sms_allowed_countries": ["XX"]}, "sms_allowed_countries: 'XX' is not"),
    ({"sms_allowed_countries": ["GB", "us"]}, "sms_allowed_countries: 'us' is not"),
    ({"sms_allowed_countries": [1]}, "sms_allowed_countries must be a list of strings"),
    ({"sms_allowed_countries": "US"}, "sms_allowed_countries must be a list of strings"),
    ({"factors": "otp"}, "factors must be a list of strings"),
    ({"totp_issuer": 7}, "totp_issuer must be a string"),
    ({"sms_template": None}, "sms_template must be a string"),
    ({"sms_confirm_phone": "yes"}, "sms_confirm_phone must be true or false"),
    ({"sms_confirm_phone": 1}, "sms_confirm_phone must be true or false"),
    ({"sms_template": "Your code"}, "must contain {code}"),
    ({"sms_template": "{code} {user}", "sms_code_minutes": 10}, "unknown placeholder {user}"),
    ({"sms_template": "{code!r}"}, "takes no format or conversion"),
    ({"sms_template": "{code"}, "unmatched brace"),
    ({"sms_template": "{code}" + "a" * 155}, "2 SMS segments"),
    ({"totp_issuer": "Protekt!"}, "2 SMS segments"),  # the stored template no longer fits
    ({"sms_code_minutes": 15}, "2 SMS segments"),
]


@pytest.mark.parametrize(("change", "message"), SMS_REFUSALS)
def test_sms_changes_are_refused_with_the_reason_and_nothing_is_stored(
    app: Flask, change: dict[str, Any], message: str,
) -> None:
    with app.app_context():
        before = services.flows.security_settings.update(**STORED)
        with pytest.raises(InvalidRequest, match=re.escape(message)):
            services.flows.security_settings.update(**change)
        assert services.mfa.settings.load() == before
    with app.app_context():
        assert services.mfa.settings.load() == before


def test_sms_bounds_are_inclusive(app: Flask) -> None:
    for end in (0, 1):
        values = {name: bounds[end] for name, bounds in SMS_BOUNDS.items()}
        with app.app_context():
            services.flows.security_settings.update(**values)
        with app.app_context():
            loaded = services.mfa.settings.load()
        assert {name: getattr(loaded, name) for name in SMS_BOUNDS} == values


def test_sms_changes_are_stored(app: Flask) -> None:
    with app.app_context():
        services.flows.security_settings.update(sms_template="Code {code}", sms_confirm_phone=True,
                                     sms_allowed_countries=["US", "GB", "US"])
    with app.app_context():
        loaded = services.mfa.settings.load()
        assert (loaded.sms_template, loaded.sms_confirm_phone, loaded.sms_allowed_countries) == (
            "Code {code}", True, ("US", "GB"))
        services.flows.security_settings.update(sms_allowed_countries=[])
    with app.app_context():
        assert services.mfa.settings.load().sms_allowed_countries == ()


@pytest.mark.parametrize(("change", "field"), [
    ({"totp_issuer": "A", "sms_template": "{code}" + "{app_name}" * 100}, "sms_template"),
    ({"totp_issuer": "   " + "x" * 64}, "totp_issuer"),
    ({"totp_issuer": "x" * 64 + " "}, "totp_issuer"),
])
def test_values_longer_than_their_columns_are_refused(
    app: Flask, change: dict[str, Any], field: str,
) -> None:
    with app.app_context(), pytest.raises(InvalidRequest, match=field):
        services.flows.security_settings.update(**change)
