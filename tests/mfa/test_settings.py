"""The MFA settings object: defaults, stored changes, and every bound checked."""

from __future__ import annotations

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
    assert defaults.factors == ("otp", "sms", "recovery-code")
    limits = (defaults.token_max_failures, defaults.user_failure_burst,
              defaults.user_failure_drain, defaults.user_max_consecutive_failures)
    assert limits == (5, 10, 360, 100)


def test_changes_are_stored_and_audited(app: Flask) -> None:
    with app.app_context():
        services.mfa.settings.update(policy="required", totp_issuer="Acme", mfa_token_ttl=300)
    with app.app_context():  # a new request reads them back
        loaded = services.mfa.settings.load()
        events = db.session.scalars(db.select(AuditEvent.detail).where(
            AuditEvent.type == "mfa.settings.updated")).all()
    assert (loaded.policy, loaded.totp_issuer, loaded.mfa_token_ttl) == ("required", "Acme", 300)
    assert events == [{"changed": ["mfa_token_ttl", "policy", "totp_issuer"]}]


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
            services.mfa.settings.update(**change)
        assert services.mfa.settings.load() == MfaSettings()
