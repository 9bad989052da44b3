"""The ``protekt`` command (README, API). Every command reads the same PROTEKT_* variables."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask

from authserver import create_app
from authserver.accounts.users import Profile
from authserver.clients import CLIENT_CREDENTIALS, DEFAULT_GRANT_TYPES
from authserver.config import ConfigError, Settings
from authserver.encryption import DecryptionError
from authserver.errors import ProtektError
from authserver.extensions import db, services
from authserver.migrate import is_current, upgrade
from authserver.serve import run
from authserver.store import StoreUnavailable, open_store

DEMO_EMAIL = "demo@example.com"
DEMO_ADMIN = "admin@example.com"
DEMO_SMS_CREDITS = 1000
EXAMPLE_APP = "http://127.0.0.1:5000"  # examples/webapp: the demo client's redirect URIs


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _app_context(settings: Settings | None = None) -> Iterator[Flask]:
    """An app context in which domain errors become readable command-line errors."""
    app = create_app(settings or _settings())
    with app.app_context():
        try:
            yield app
        except ProtektError as exc:
            raise click.ClickException(exc.description) from None
        except DecryptionError as exc:
            raise click.ClickException(str(exc)) from None


def _emit(as_json: bool, data: dict[str, Any], text: Callable[[], str]) -> None:
    click.echo(json.dumps(data) if as_json else text())


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").replace(",", " ").split() if part.strip()]


@click.group()
def main() -> None:
    """Protekt authorization server."""


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    with _app_context():
        upgrade(db.engine)
    click.echo("Database schema is up to date.")


def _account_options(command: Callable[..., None]) -> Callable[..., None]:
    """--email, --password (prompted for, hidden, when omitted) and --json."""
    for option in reversed((
        click.option("--email", required=True, help="Login name; unique regardless of case."),
        click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                     help="Prompted for (hidden) when omitted."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    )):
        command = option(command)
    return command


def _profile_options(command: Callable[..., None]) -> Callable[..., None]:
    """The OIDC Core §5.1 profile claims, each optional."""
    for option in reversed((
        click.option("--name", help="Full name (at most 200 characters)."),
        click.option("--given-name", help="Given name(s) or first name(s)."),
        click.option("--family-name", help="Surname(s) or last name(s)."),
        click.option("--preferred-username", help="Shorthand name, such as annlee."),
        click.option("--picture", help="An https URL of the user's picture."),
        click.option("--locale", help="A BCP 47 language tag, such as en or pt-BR."),
    )):
        command = option(command)
    return command


@main.command("create-user")
@_account_options
@_profile_options
def create_user(email: str, password: str, as_json: bool, **claims: str | None) -> None:
    """Create a user, with the profile claims given; prints its id, email and claims."""
    with _app_context():
        profile = Profile.checked({name: value for name, value in claims.items() if value})
        user = services.administration.create(email, password, profile=profile)
        data = {"id": user.id, "email": user.email,
                **{name: value for name, value in profile.claims.items() if value}}
    width = max(map(len, data)) + 2
    _emit(as_json, data, lambda: "\n".join(f"{name:<{width}}{value}"
                                           for name, value in data.items()))


@main.command("create-admin")
@_account_options
def create_admin(email: str, password: str, as_json: bool) -> None:
    """Create a dashboard administrator; at first sign-in they add an authenticator app."""
    with _app_context():
        user = services.administration.create(email, password, is_admin=True)
        data = {"id": user.id, "email": user.email,
                "dashboard": f"{services.settings.issuer}/dashboard/signin"}
    _emit(as_json, data, lambda: f"id         {data['id']}\nemail      {data['email']}\n"
          f"dashboard  {data['dashboard']}   (sign in there; you will add an authenticator app)")


@main.command("create-client")
@click.option("--name", required=True, help="Shown to administrators.")
@click.option("--public", is_flag=True, help="No secret (native and browser apps).")
@click.option("--grant-types", help="Comma-separated; default: authorization_code, password, "
              "refresh_token, mfa-otp, mfa-oob, mfa-recovery-code, mfa-webauthn, passkey "
              "(short names or URIs).")
@click.option("--scopes", help="Extra scopes of other APIs this client may ask for.")
@click.option("--audiences", help="APIs (audience values) this client may get tokens for.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, metavar="URI",
              help="Where the browser sign-in may return users (repeatable): https, http on "
                   "127.0.0.1, [::1] or localhost, or com.example.app:/callback.")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True,
              metavar="URI", help="Where sign-out may return users (repeatable).")
@click.option("--third-party", is_flag=True,
              help="Another party's app: users are asked for their consent.")
@click.option("--mfa-policy", type=click.Choice(["inherit", "always", "never", "adaptive"]),
              default="inherit", help="This app's MFA rule (README, MFA policies).")
@click.option("--mfa-factors", help="Comma-separated factors that may answer here (default: "
              "any); phishing-resistant stands for the passkey factors.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_client(*, name: str, public: bool, grant_types: str | None, scopes: str | None,
                  audiences: str | None, redirect_uris: tuple[str, ...],
                  post_logout_redirect_uris: tuple[str, ...], third_party: bool,
                  mfa_policy: str, mfa_factors: str | None, as_json: bool) -> None:
    """Register a client; prints client_id and, once only, client_secret."""
    with _app_context():
        client, secret = services.flows.client_administration.create(
            name, public=public, grant_types=_split(grant_types) or None,
            scopes=_split(scopes), audiences=_split(audiences), redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris, first_party=not third_party,
            mfa_policy=mfa_policy, mfa_factors=_split(mfa_factors),
        )
        data: dict[str, Any] = {
            "client_id": client.client_id, "name": client.name,
            "grant_types": client.grant_types, "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "first_party": client.first_party, "mfa_policy": client.mfa_policy,
            "mfa_factors": client.mfa_factors}
    if secret is not None:
        data["client_secret"] = secret

    def text() -> str:
        lines = [f"client_id      {data['client_id']}"]
        if secret is not None:
            lines.append(f"client_secret  {secret}   (shown once: store it now)")
        lines.append(f"grant_types    {', '.join(data['grant_types'])}")
        lines += [f"redirect_uri   {uri}" for uri in data["redirect_uris"]]
        lines += [f"logout_uri     {uri}" for uri in data["post_logout_redirect_uris"]]
        if not data["first_party"]:
            lines.append("third-party    users are asked for their consent")
        return "\n".join(lines)

    _emit(as_json, data, text)


@main.command("unlock-user")
@click.option("--email", required=True)
def unlock_user(email: str) -> None:
    """Clear a user's failed-login and failed-MFA counters (100 failures in a row lock them)."""
    with _app_context():
        user = services.users.find_by_email(email)
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        services.flows.unlock.run(user)
    click.echo(f"Unlocked {email}.")


@main.group("mfa")
def mfa_group() -> None:
    """Multi-factor authentication."""


@mfa_group.command("settings")
@click.option("--enable/--disable", "enabled", default=None, help="Switch MFA on or off.")
@click.option("--factors", help="Comma-separated: otp, sms, webauthn-platform, "
              "webauthn-roaming, recovery-code.")
@click.option("--policy", type=click.Choice(["optional", "required"]))
@click.option("--totp-issuer", help="Issuer name shown by authenticator apps.")
@click.option("--mfa-token-ttl", type=int, help="Seconds an mfa_token lives (60-3600).")
@click.option("--token-max-failures", type=int, help="Wrong codes per mfa_token (1-10).")
@click.option("--user-failure-burst", type=int, help="Failures per user before throttling.")
@click.option("--user-failure-drain", type=int, help="Seconds per further failure allowed.")
@click.option("--user-max-consecutive-failures", type=int, help="Failures in a row that lock.")
@click.option("--sms-template", help="SMS text with {code}, {app_name}, {minutes}.")
@click.option("--sms-confirm-phone/--no-sms-confirm-phone", default=None,
              help="Send a code to confirm a phone at enrollment.")
@click.option("--sms-code-minutes", type=int, help="Minutes an SMS code is valid (1-15).")
@click.option("--sms-resend-cooldown", type=int, help="Seconds between codes to one phone.")
@click.option("--sms-user-hourly", type=int, help="SMS per user per hour.")
@click.option("--sms-phone-hourly", type=int, help="SMS per phone number per hour.")
@click.option("--sms-ip-hourly", type=int, help="SMS per client IP per hour.")
@click.option("--sms-allowed-countries",
              help="Comma-separated ISO 3166 codes (e.g. US,GB); empty string allows all.")
@click.option("--sms-low-credit-threshold", type=int, help="Balance that records a warning.")
@click.option("--webauthn-user-verification", type=click.Choice(["required", "preferred"]),
              help="A passkey as second factor must verify the user (PIN, biometric).")
@click.option("--passkey-counts-as-mfa/--passkey-does-not-count-as-mfa", default=None,
              help="A passwordless passkey sign-in counts as MFA.")
@click.option("--admins-phishing-resistant/--admins-any-factor", default=None,
              help="Dashboard administrators sign in with a passkey or security key only.")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="Any setting by its name (repeatable), e.g. adaptive_high=5 or "
                   "adaptive_block_high=true.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def mfa_settings(as_json: bool, assignments: tuple[str, ...], **changes: Any) -> None:
    """Show the MFA settings, after applying any options given."""
    changes = {name: value for name, value in changes.items() if value is not None}
    changes.update(_assigned(assignments))
    for name in ("factors", "sms_allowed_countries"):
        if name in changes:
            changes[name] = _split(changes[name])
    with _app_context():
        current = (services.flows.security_settings.update(**changes) if changes
                   else services.mfa.settings.load()).as_dict()
    _emit(as_json, current,
          lambda: "\n".join(f"{name:<30} {value}" for name, value in current.items()))


def _assigned(assignments: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs: whole numbers and true/false as such, anything else as text (the
    settings check each value by its name)."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep:
            raise click.BadParameter(f"{assignment!r} is not NAME=VALUE.", param_hint="--set")
        flags = {"true": True, "false": False}
        values[name.strip()] = (int(raw) if raw.strip().lstrip("-").isdigit()
                                else flags.get(raw.strip().lower(), raw))
    return values


@main.group("groups")
def groups_group() -> None:
    """Groups of users and their MFA rules (README, MFA policies)."""


@groups_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_groups(as_json: bool) -> None:
    """Every group with its rule and its members' emails."""
    with _app_context():
        data = {"groups": [
            {"name": g.name, "mfa_always": g.mfa_always, "mfa_factors": g.mfa_factors,
             "members": [u.email for u in services.mfa.groups.members(g.id)]}
            for g in services.mfa.groups.all()]}
    _emit(as_json, data, lambda: "\n".join(
        f"{g['name']:<24} always={g['mfa_always']!s:<5} "
        f"factors={','.join(g['mfa_factors']) or 'any'}  members: "
        f"{', '.join(g['members']) or '-'}" for g in data["groups"]))


@groups_group.command("create")
@click.option("--name", required=True)
@click.option("--always", is_flag=True, help="Members answer a second factor at every login.")
@click.option("--factors", help="Comma-separated factors that may answer for members.")
def create_group(name: str, always: bool, factors: str | None) -> None:
    """Make a group."""
    with _app_context():
        services.flows.group_administration.create(name, mfa_always=always,
                                                   mfa_factors=_split(factors))
    click.echo(f"Made group {name}.")


@groups_group.command("add-member")
@click.option("--group", "group_name", required=True)
@click.option("--email", required=True)
def add_group_member(group_name: str, email: str) -> None:
    """Put a user into a group."""
    with _app_context():
        services.flows.group_administration.add_member(*_membership(group_name, email))
    click.echo(f"{email} is in {group_name}.")


@groups_group.command("remove-member")
@click.option("--group", "group_name", required=True)
@click.option("--email", required=True)
def remove_group_member(group_name: str, email: str) -> None:
    """Take a user out of a group."""
    with _app_context():
        services.flows.group_administration.remove_member(*_membership(group_name, email))
    click.echo(f"{email} is not in {group_name}.")


def _membership(group_name: str, email: str) -> tuple[str, str]:
    """The ids of the group and the user named; a ClickException naming what is unknown."""
    groups = [g.id for g in services.mfa.groups.all() if g.name == group_name]
    user = services.users.find_by_email(email)
    if not groups:
        raise click.ClickException(f"No group named {group_name}.")
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    return groups[0], user.id


@main.group("sms")
def sms_group() -> None:
    """SMS delivery."""


@sms_group.command("credits")
@click.option("--add", "amount", type=int, help="Top up by this many credits (one per segment).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sms_credits(amount: int | None, as_json: bool) -> None:
    """Show the SMS credit balance, after a top-up if --add is given."""
    with _app_context():
        data = {"balance": services.flows.security_settings.top_up(amount) if amount is not None
                else services.mfa.sms_credits.balance()}
    _emit(as_json, data, lambda: f"SMS credits: {data['balance']}")


@main.group("keys")
def keys_group() -> None:
    """Token signing keys."""


def _key_row(key: Any) -> dict[str, Any]:
    ends = services.keyring.retention_ends(key)
    return {
        "kid": key.kid, "alg": key.alg, "created_at": key.created_at.isoformat(timespec="seconds"),
        "status": "active" if key.retired_at is None else "retired",
        "published_until": None if ends is None else ends.isoformat(timespec="seconds"),
    }


def _key_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'kid':<45} {'alg':<6} {'status':<8} {'created':<26} published until"]
    for r in rows:
        lines.append(f"{r['kid']:<45} {r['alg']:<6} {r['status']:<8} {r['created_at']:<26} "
                     f"{r['published_until'] or '-'}")
    return "\n".join(lines)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """List signing keys, newest first."""
    with _app_context():
        services.keyring.active_key()
        rows = [_key_row(k) for k in services.keyring.all_keys()]
    _emit(as_json, {"keys": rows}, lambda: _key_table(rows))


@keys_group.command("rotate")
@click.option("--json", "as_json", is_flag=True)
def keys_rotate(as_json: bool) -> None:
    """Make a new key active; retired keys stay published until their tokens expire."""
    with _app_context():
        row = _key_row(services.keyring.roll_over())
    _emit(as_json, row, lambda: f"New active key {row['kid']} ({row['alg']}).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=os.cpu_count() or 1, show_default="number of cores",
              type=click.IntRange(1, 64))
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker: enough that requests waiting for a password hash "
                   "leave threads free for the others (see scripts/bench.py).")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the production server."""
    settings = _settings()
    if settings.uses_memory_store and workers > 1:
        raise click.ClickException(
            "PROTEKT_REDIS_URL=memory:// keeps counters and tokens inside one process; with "
            f"--workers {workers} each worker would keep its own, and limits would not hold. "
            "Use Redis, or --workers 1."
        )
    _prepare(settings)
    os.environ.setdefault("PROTEKT_HASH_CONCURRENCY", str(max(1, (os.cpu_count() or 1) // workers)))
    run(host, port, workers, threads, settings.log_level)


def _prepare(settings: Settings) -> None:
    """Check the schema and make the first signing key before workers fork."""
    with _app_context(settings):
        if not is_current(db.engine):
            raise click.ClickException(
                "The database schema is not up to date: run `protekt db upgrade` first."
            )
        services.keyring.active_key()
        db.engine.dispose()


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(port: int) -> None:
    """Quick start: fresh SQLite database, a demo client and user, server on 127.0.0.1."""
    workdir = Path(tempfile.mkdtemp(prefix="protekt-demo-"))
    redis_url = os.environ.get("PROTEKT_REDIS_URL") or Settings.redis_url
    try:
        open_store(redis_url, "protekt-demo", Settings.redis_timeout).ping()
        store_line = f"Redis at {redis_url}"
    except StoreUnavailable:
        store_line = f"in-process store (memory://): no Redis answered at {redis_url}"
        redis_url = "memory://"
    os.environ.update({
        "PROTEKT_ISSUER": f"http://127.0.0.1:{port}",
        "PROTEKT_DATABASE_URL": f"sqlite:///{workdir / 'protekt.db'}",
        "PROTEKT_REDIS_URL": redis_url,
        "PROTEKT_REDIS_PREFIX": f"protekt-demo-{secrets.token_hex(4)}",
        "PROTEKT_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    })
    settings = _settings()
    password, admin_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    with _app_context(settings):
        upgrade(db.engine)
        services.administration.create(DEMO_EMAIL, password, email_verified=True)
        services.administration.create(DEMO_ADMIN, admin_password, is_admin=True)
        client, secret = services.flows.client_administration.create(
            "Demo app", grant_types=[*DEFAULT_GRANT_TYPES, CLIENT_CREDENTIALS],
            redirect_uris=[f"{EXAMPLE_APP}/callback"],
            post_logout_redirect_uris=[f"{EXAMPLE_APP}/"],
        )
        client_id = client.client_id
        services.flows.security_settings.top_up(DEMO_SMS_CREDITS)
    _prepare(settings)
    click.echo(_demo_banner(settings, workdir, store_line, client_id=client_id,
                            secret=secret or "", password=password,
                            admin_password=admin_password))
    run("127.0.0.1", port, 1, 16, settings.log_level)


def _demo_banner(settings: Settings, workdir: Path, store: str, *, client_id: str, secret: str,
                 password: str, admin_password: str) -> str:
    issuer = settings.issuer
    sms = ("printed in this terminal" if settings.sms_provider == "console"
           else f"through the {settings.sms_provider} provider")
    return f"""
Protekt demo server: {issuer}
  database  {workdir / 'protekt.db'} (fresh)
  store     {store}
  user      {DEMO_EMAIL}
  client    Demo app (authorization_code, password, refresh_token, the MFA grants,
            client_credentials); signs in back to the example web app at {EXAMPLE_APP}
  MFA       on, optional: users who enroll an authenticator app or a phone are challenged
  SMS       codes {sms}; {DEMO_SMS_CREDITS} credits
  dashboard {issuer}/dashboard as {DEMO_ADMIN}, password {admin_password}
            (the first sign-in adds an authenticator app; `oathtool --totp -b KEY` will do)

Paste into another shell to follow the README's walk-through:

export PROTEKT={issuer}
export CLIENT_ID={client_id}
export CLIENT_SECRET={secret}
export DEMO_EMAIL={DEMO_EMAIL}
export DEMO_PASSWORD={password}
export DEMO_ADMIN={DEMO_ADMIN}
export DEMO_ADMIN_PASSWORD={admin_password}
{_settings_exports()}
"""


def _settings_exports() -> str:
    """The demo's own PROTEKT_* variables, so `protekt mfa settings` & co. reach its database."""
    names = ("PROTEKT_ISSUER", "PROTEKT_DATABASE_URL", "PROTEKT_REDIS_URL", "PROTEKT_REDIS_PREFIX",
             "PROTEKT_SMS_PROVIDER", "PROTEKT_SMS_OUTBOX", "PROTEKT_ENCRYPTION_KEY")
    return "\n".join(f"export {name}={shlex.quote(os.environ[name])}" for name in names
                     if os.environ.get(name))
