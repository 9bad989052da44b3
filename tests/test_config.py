"""Settings: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import re

import pytest

from authserver.config import ConfigError, Settings, describe
from tests.conftest import ROOT
from tests.support import TEST_ENCRYPTION_KEY

BASE = {"PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY}


def test_defaults_follow_api_md() -> None:
    settings = Settings.from_env(BASE)
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.signing_alg == "RS256"
    assert settings.database_url is None
    assert (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism) \
        == (19456, 2, 1)
    assert settings.login_max_consecutive_failures == 100


def test_values_are_read_and_typed() -> None:
    settings = Settings.from_env({**BASE, "PROTEKT_SIGNING_ALG": "ES256",
                                  "PROTEKT_ACCESS_TOKEN_TTL": "60",
                                  "PROTEKT_ISSUER": "https://id.example.com"})
    assert settings.signing_alg == "ES256"
    assert settings.access_token_ttl == 60
    assert settings.issuer == "https://id.example.com"


def test_several_encryption_keys_are_accepted() -> None:
    other = "A" * 43
    settings = Settings.from_env({"PROTEKT_ENCRYPTION_KEY": f"{TEST_ENCRYPTION_KEY},{other}"})
    assert len(settings.encryption_keys) == 2


@pytest.mark.parametrize(("variable", "value"), [
    ("PROTEKT_ISSUER", "ftp://x"),
    ("PROTEKT_ISSUER", "https://id.example.com/"),
    ("PROTEKT_ISSUER", "https://id.example.com?x=1"),
    ("PROTEKT_SIGNING_ALG", "HS256"),
    ("PROTEKT_SIGNING_ALG", "none"),
    ("PROTEKT_REDIS_URL", "http://localhost"),
    ("PROTEKT_DATABASE_URL", "mysql://x"),
    ("PROTEKT_ENCRYPTION_KEY", "short"),
    ("PROTEKT_ENCRYPTION_KEY", "!!!notbase64!!!"),
    ("PROTEKT_ACCESS_TOKEN_TTL", "0"),
    ("PROTEKT_ACCESS_TOKEN_TTL", "soon"),
    ("PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES", "101"),
    ("PROTEKT_TRUSTED_PROXIES", "-1"),
    ("PROTEKT_LOG_LEVEL", "LOUD"),
    ("PROTEKT_CORS_ORIGINS", "*"),
    ("PROTEKT_CORS_ORIGINS", "app.example.com"),
    ("PROTEKT_CORS_ORIGINS", "https://app.example.com/"),
    ("PROTEKT_CORS_ORIGINS", "https://app.example.com/login"),
    ("PROTEKT_CORS_ORIGINS", "https://user@app.example.com"),
])
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**BASE, variable: value})
    assert variable in str(error.value)


def test_the_encryption_key_is_required() -> None:
    with pytest.raises(ConfigError, match="PROTEKT_ENCRYPTION_KEY: required"):
        Settings.from_env({})


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"PROTEKT_SIGNING_ALG": "x", "PROTEKT_ISSUER": "y"})
    message = str(error.value)
    assert all(v in message for v in ("PROTEKT_SIGNING_ALG", "PROTEKT_ISSUER",
                                      "PROTEKT_ENCRYPTION_KEY"))


def test_idle_lifetime_cannot_exceed_absolute_lifetime() -> None:
    with pytest.raises(ConfigError, match="PROTEKT_REFRESH_TOKEN_IDLE_TTL"):
        Settings.from_env({**BASE, "PROTEKT_REFRESH_TOKEN_IDLE_TTL": "100",
                           "PROTEKT_REFRESH_TOKEN_ABSOLUTE_TTL": "50"})


def test_the_env_example_lists_every_setting_with_its_default() -> None:
    example = (ROOT / "config" / "protekt.env.example").read_text()
    assignments = dict(re.findall(r"^#?\s*(PROTEKT_[A-Z0-9_]+)=(.*)$", example, re.MULTILINE))
    for variable, default, _doc, _ref in describe():
        assert variable in assignments, f"{variable} missing from config/protekt.env.example"
        assert assignments[variable] == default, variable


def test_cors_origins_are_kept_as_browsers_send_them() -> None:
    settings = Settings.from_env({**BASE, "PROTEKT_CORS_ORIGINS":
                                  "HTTPS://App.example.com:443, http://127.0.0.1:3000,"
                                  "http://[::1]:80"})
    assert settings.cors_origins == ("https://app.example.com", "http://127.0.0.1:3000",
                                     "http://[::1]")
