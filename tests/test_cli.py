"""The ``protekt`` command (README, API)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from authserver.cli import main
from authserver.extensions import services
from tests.support import protekt


@pytest.fixture
def run(env: dict[str, str]) -> Any:
    def invoke(*args: str, input: str | None = None, **extra_env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**env, **extra_env}, input=input,
                                  catch_exceptions=False)

    return invoke


def test_db_upgrade(run: Any) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0 and "up to date" in result.output


def test_create_user_prints_id_and_email_as_json(run: Any) -> None:
    result = run("create-user", "--email", "Bob@Example.org", "--password", "correct horse",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"id", "email"} and data["email"] == "Bob@Example.org"


def test_create_user_refuses_a_duplicate_with_a_clear_message(run: Any) -> None:
    run("create-user", "--email", "bob@example.org", "--password", "correct horse")
    result = run("create-user", "--email", "BOB@example.org", "--password", "correct horse")
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_user_with_profile_claims(run: Any, app: Any) -> None:
    result = run("create-user", "--email", "ann@example.org", "--password", "correct horse",
                 "--name", "Ann Lee", "--given-name", "Ann", "--family-name", "Lee",
                 "--preferred-username", "annlee", "--picture", "https://example.com/ann.png",
                 "--locale", "pt-BR", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    claims = {"name": "Ann Lee", "given_name": "Ann", "family_name": "Lee",
              "preferred_username": "annlee", "picture": "https://example.com/ann.png",
              "locale": "pt-BR"}
    assert data == {"id": data["id"], "email": "ann@example.org", **claims}
    with app.app_context():
        user = services.users.find_by_email("ann@example.org")
        assert user is not None and user.updated_at is not None
        assert {name: getattr(user, name) for name in claims} == claims
    text = run("create-user", "--email", "dee@example.org", "--password", "correct horse",
               "--given-name", "Dee").output
    assert "given_name  Dee" in text and "email       dee@example.org" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--picture", "http://example.com/ann.png"], "picture must be an https URL"),
    (["--locale", "Portuguese"], "locale must be a language tag"),
    (["--name", "x" * 201], "name must be at most 200 characters"),
    (["--given-name", "Ann\x07"], "given_name must not contain control characters"),
])
def test_create_user_refuses_bad_profile_claims(run: Any, app: Any, args: list[str],
                                                message: str) -> None:
    result = run("create-user", "--email", "ann@example.org", "--password", "correct horse",
                 *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert services.users.find_by_email("ann@example.org") is None


def test_create_admin_makes_an_administrator_and_says_where_to_sign_in(run: Any,
                                                                      app: Any) -> None:
    result = run("create-admin", "--email", "root@example.org", "--json",
                 input="the admin password\nthe admin password\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.splitlines()[-1])
    assert data["dashboard"] == "http://127.0.0.1:8000/dashboard/signin"
    with app.app_context():
        admin = services.users.find_by_email("root@example.org")
        assert admin is not None and admin.is_admin and admin.id == data["id"]
        plain = services.administration.create("plain@example.org", "a user password")
        assert not plain.is_admin


def test_create_admin_refuses_a_taken_email(run: Any) -> None:
    run("create-user", "--email", "bob@example.org", "--password", "correct horse")
    result = run("create-admin", "--email", "Bob@example.org", "--password", "correct horse")
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_client_defaults_and_secret_shown_once(run: Any) -> None:
    data = json.loads(run("create-client", "--name", "Web", "--json").output)
    assert data["grant_types"] == [
        "authorization_code", "password", "refresh_token",
        "http://protekt.dev/oauth/grant-type/mfa-otp",
        "http://protekt.dev/oauth/grant-type/mfa-oob",
        "http://protekt.dev/oauth/grant-type/mfa-recovery-code",
        "http://protekt.dev/oauth/grant-type/mfa-webauthn",
        "http://protekt.dev/oauth/grant-type/passkey",
    ]
    assert len(data["client_secret"]) >= 43  # 256 bits, base64url
    text = run("create-client", "--name", "Web 2").output
    assert "client_secret" in text and "shown once" in text


def test_create_client_with_redirect_uris_for_a_third_party(run: Any, app: Any) -> None:
    result = run("create-client", "--name", "Partner", "--json",
                 "--redirect-uri", "https://partner.example/cb",
                 "--redirect-uri", "http://127.0.0.1/cb",
                 "--redirect-uri", "https://partner.example/cb",  # a repeat: kept once
                 "--post-logout-redirect-uri", "https://partner.example/",
                 "--third-party")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["redirect_uris"] == ["https://partner.example/cb", "http://127.0.0.1/cb"]
    assert data["post_logout_redirect_uris"] == ["https://partner.example/"]
    assert data["first_party"] is False
    with app.app_context():
        client = services.clients.get(data["client_id"])
        assert (client.redirect_uris, client.first_party) == (data["redirect_uris"], False)
    text = run("create-client", "--name", "Own", "--redirect-uri",
               "com.example.app:/cb").output
    assert "redirect_uri   com.example.app:/cb" in text and "third-party" not in text
    plain = json.loads(run("create-client", "--name", "Plain", "--json").output)
    assert (plain["redirect_uris"], plain["post_logout_redirect_uris"], plain["first_party"]) \
        == ([], [], True)


def test_create_client_help_names_the_new_default_and_options(run: Any) -> None:
    text = " ".join(run("create-client", "--help").output.split())
    assert "default: authorization_code, password, refresh_token" in text
    for option in ("--redirect-uri URI", "--post-logout-redirect-uri URI", "--third-party"):
        assert option in text


def test_create_client_takes_short_names_and_auth0_uris(run: Any) -> None:
    data = json.loads(run("create-client", "--name", "Mixed", "--json", "--grant-types",
                          "password,mfa-otp,http://auth0.com/oauth/grant-type/mfa-recovery-code"
                          ).output)
    assert data["grant_types"] == [
        "password", "http://protekt.dev/oauth/grant-type/mfa-otp",
        "http://protekt.dev/oauth/grant-type/mfa-recovery-code",
    ]


def test_mfa_settings_show_and_change(run: Any) -> None:
    shown = json.loads(run("mfa", "settings", "--json").output)
    assert shown["enabled"] is True and shown["policy"] == "optional"
    changed = json.loads(run("mfa", "settings", "--policy", "required", "--totp-issuer",
                             "Acme", "--factors", "otp", "--json").output)
    assert (changed["policy"], changed["totp_issuer"], changed["factors"]) == (
        "required", "Acme", ["otp"])
    assert json.loads(run("mfa", "settings", "--disable", "--json").output)["enabled"] is False
    refused = run("mfa", "settings", "--mfa-token-ttl", "5")
    assert refused.exit_code != 0 and "mfa_token_ttl must be" in refused.output
    assert "Traceback" not in refused.output


def test_create_public_client_has_no_secret(run: Any) -> None:
    data = json.loads(run("create-client", "--name", "SPA", "--public", "--json").output)
    assert "client_secret" not in data


@pytest.mark.parametrize(("args", "message"), [
    (["--grant-types", "password,magic"], "Unknown grant type magic"),
    (["--public", "--grant-types", "client_credentials"], "public client"),
    (["--redirect-uri", "http://app.example.com/cb"], "only a loopback host"),
    (["--redirect-uri", "https://app.example.com/cb#x"], "has a fragment"),
    (["--post-logout-redirect-uri", "javascript:alert(1)"], "javascript: URIs are never"),
    (["--redirect-uri", "https://*.example.com/cb"], "has a wildcard"),
])
def test_create_client_refuses_bad_input(run: Any, args: list[str], message: str) -> None:
    result = run("create-client", "--name", "X", *args)
    assert result.exit_code != 0 and message in result.output


def test_keys_list_and_rotate(run: Any) -> None:
    before = json.loads(run("keys", "list", "--json").output)["keys"]
    assert before[0]["status"] == "active"
    rotated = json.loads(run("keys", "rotate", "--json").output)
    after = json.loads(run("keys", "list", "--json").output)["keys"]
    assert after[0]["kid"] == rotated["kid"] and after[0]["status"] == "active"
    old = next(k for k in after if k["kid"] == before[0]["kid"])
    assert old["status"] == "retired" and old["published_until"]


def test_unlock_user(run: Any) -> None:
    run("create-user", "--email", "bob@example.org", "--password", "correct horse")
    result = run("unlock-user", "--email", "bob@example.org")
    assert result.exit_code == 0 and "Unlocked" in result.output
    assert run("unlock-user", "--email", "nobody@example.org").exit_code != 0


def test_a_bad_setting_stops_the_command_naming_the_variable(env: dict[str, str]) -> None:
    result = protekt({**env, "PROTEKT_SIGNING_ALG": "HS256"}, "serve")
    assert result.returncode != 0
    assert "PROTEKT_SIGNING_ALG" in result.stderr and "Traceback" not in result.stderr


def test_a_wrong_encryption_key_stops_the_server_with_a_clear_message(
    run: Any, env: dict[str, str],
) -> None:
    run("keys", "list")  # a key sealed with the test key exists
    other = {**env, "PROTEKT_ENCRYPTION_KEY": "B" * 43}
    result = protekt(other, "serve", "--workers", "1")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "PROTEKT_ENCRYPTION_KEY must list the key it was sealed with" in result.stderr


def test_serve_refuses_memory_store_with_several_workers(env: dict[str, str]) -> None:
    result = protekt({**env, "PROTEKT_REDIS_URL": "memory://"}, "serve", "--workers", "2")
    assert result.returncode != 0
    assert "memory://" in result.stderr and "--workers 1" in result.stderr


def test_serve_refuses_an_unmigrated_database(env: dict[str, str], tmp_path: Any) -> None:
    fresh = {**env, "PROTEKT_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    result = protekt(fresh, "serve", "--workers", "1")
    assert result.returncode != 0 and "protekt db upgrade" in result.stderr


def _balance(run: Any) -> int:
    return json.loads(run("sms", "credits", "--json").output)["balance"]


def _sms_template(run: Any) -> str:
    return json.loads(run("mfa", "settings", "--json").output)["sms_template"]


@pytest.mark.usefixtures("app")  # its teardown clears the rows these commands write
def test_sms_credits_show_and_top_up(run: Any) -> None:
    shown = run("sms", "credits")
    assert shown.exit_code == 0 and shown.output.strip() == "SMS credits: 0"
    topped = run("sms", "credits", "--add", "50", "--json")
    assert topped.exit_code == 0 and json.loads(topped.output) == {"balance": 50}
    assert _balance(run) == 50


@pytest.mark.usefixtures("app")
def test_sms_credits_refuse_a_zero_top_up(run: Any) -> None:
    before = _balance(run)
    result = run("sms", "credits", "--add", "0")
    assert result.exit_code != 0 and "A top-up must be a whole number from 1" in result.output
    assert "Traceback" not in result.output
    assert _balance(run) == before


@pytest.mark.usefixtures("app")
def test_mfa_settings_change_sms_options(run: Any) -> None:
    changed = json.loads(run("mfa", "settings", "--sms-template", "Code {code}",
                             "--sms-allowed-countries", "US,GB", "--sms-confirm-phone",
                             "--json").output)
    sms = ("sms_template", "sms_allowed_countries", "sms_confirm_phone")
    expected = ("Code {code}", ["US", "GB"], True)
    assert tuple(changed[name] for name in sms) == expected
    shown = json.loads(run("mfa", "settings", "--json").output)
    assert tuple(shown[name] for name in sms) == expected
    cleared = json.loads(run("mfa", "settings", "--sms-allowed-countries", "", "--json").output)
    assert cleared["sms_allowed_countries"] == []


@pytest.mark.usefixtures("app")
def test_mfa_settings_change_passkey_options(run: Any) -> None:
    changed = json.loads(run("mfa", "settings", "--factors", "webauthn-roaming,recovery-code",
                             "--webauthn-user-verification", "required",
                             "--passkey-does-not-count-as-mfa", "--json").output)
    assert (changed["factors"], changed["webauthn_user_verification"],
            changed["passkey_counts_as_mfa"]) == (
        ["webauthn-roaming", "recovery-code"], "required", False)
    refused = run("mfa", "settings", "--webauthn-user-verification", "sometimes")
    assert refused.exit_code != 0 and "Traceback" not in refused.output


@pytest.mark.usefixtures("app")
def test_mfa_settings_refuse_a_bad_sms_template(run: Any) -> None:
    before = _sms_template(run)
    result = run("mfa", "settings", "--sms-template", "Your code is here")
    assert result.exit_code != 0 and "sms_template must contain {code}" in result.output
    assert "Traceback" not in result.output
    assert _sms_template(run) == before


@pytest.mark.usefixtures("app")
def test_groups_are_made_and_filled_from_the_command_line(run: Any) -> None:
    run("create-user", "--email", "ops@example.org", "--password", "long enough password")
    assert "Made group ops" in run("groups", "create", "--name", "ops", "--always",
                                   "--factors", "phishing-resistant").output
    assert run("groups", "add-member", "--group", "ops", "--email", "ops@example.org"
               ).exit_code == 0
    listed = json.loads(run("groups", "list", "--json").output)
    assert listed == {"groups": [{"name": "ops", "mfa_always": True,
                                  "mfa_factors": ["phishing-resistant"],
                                  "members": ["ops@example.org"]}]}
    unknown = run("groups", "add-member", "--group", "nobody", "--email", "ops@example.org")
    assert unknown.exit_code != 0 and "No group named nobody" in unknown.output
    client = json.loads(run("create-client", "--name", "Payroll", "--mfa-policy", "always",
                            "--json").output)
    assert (client["mfa_policy"], client["mfa_factors"]) == ("always", [])


@pytest.mark.usefixtures("app")
def test_any_setting_is_set_by_name(run: Any) -> None:
    changed = json.loads(run("mfa", "settings", "--set", "adaptive_high=6", "--set",
                             "adaptive_block_high=true", "--json").output)
    assert (changed["adaptive_high"], changed["adaptive_block_high"]) == (6, True)
    refused = run("mfa", "settings", "--set", "adaptive_high")
    assert refused.exit_code != 0 and "NAME=VALUE" in refused.output
