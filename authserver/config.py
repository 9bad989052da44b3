"""Typed settings read once from ``PROTEKT_*`` variables (README, API).

Every knob is declared once below with its default, a one-line reason and, where one exists, the
standard it comes from. ``Settings.from_env`` parses and checks all of them at start; a bad value
raises :class:`ConfigError` naming the variable, so the server never starts half-configured.
``config/protekt.env.example`` lists the same variables (a test keeps the two in step).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")
SMS_PROVIDERS = ("console", "file", "twilio", "webhook")
MAX_RETRY_GRACE = 300  # seconds: the refresh retry window is meant to be short


class ConfigError(ValueError):
    """One or more settings are invalid; the message names each variable."""


def _setting(env: str, default: Any, parse: Callable[[str], Any], doc: str, ref: str = "") -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "doc": doc, "ref": ref})


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be a whole number of at least 0")
    return value


def _issuer(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment (OIDC Discovery §3)")
    if raw.endswith("/"):
        raise ValueError("must not end with a slash")
    return raw


def _redis_url(raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss", "memory"):
        raise ValueError("must start with redis://, rediss:// or memory://")
    return raw


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:", "postgresql:", "postgresql+")):
        raise ValueError("must be a SQLAlchemy URL for SQLite or PostgreSQL")
    return raw


def _signing_alg(raw: str) -> str:
    if raw not in SIGNING_ALGORITHMS:
        raise ValueError(f"must be one of {', '.join(SIGNING_ALGORITHMS)}")
    return raw


def _encryption_keys(raw: str) -> tuple[bytes, ...]:
    keys = []
    for part in raw.split(","):
        try:
            key = base64.urlsafe_b64decode(part.strip() + "=" * (-len(part.strip()) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("each key must be base64url") from None
        if len(key) != 32:
            raise ValueError("each key must decode to exactly 32 bytes")
        keys.append(key)
    return tuple(keys)


def _sms_provider(raw: str) -> str:
    if raw not in SMS_PROVIDERS:
        raise ValueError(f"must be one of {', '.join(SMS_PROVIDERS)}")
    return raw


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(_origin(part.strip()) for part in raw.split(","))


def _origin(raw: str) -> str:
    """An origin as browsers send it (RFC 6454 §6.2): lowercase, without its default port."""
    parts = urlsplit(raw.lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{raw}' is not an origin like https://app.example.com")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"'{raw}' must be scheme://host[:port] only, without a path")
    default_port = {"http": ":80", "https": ":443"}[parts.scheme]
    return f"{parts.scheme}://{parts.netloc.removesuffix(default_port)}"


def _rp_id(raw: str) -> str:
    """A WebAuthn RP ID: a domain, lowercase, without scheme or port (WebAuthn L3 §5.1.3)."""
    host = raw.lower()
    if "/" in host or ":" in host or not host.strip("."):
        raise ValueError("must be a domain like example.com, without scheme, port or path")
    return host


def _webauthn_origins(raw: str) -> tuple[str, ...]:
    """Origins besides the issuer's that may answer a WebAuthn ceremony: web origins, or an
    Android app's ``android:apk-key-hash:…`` (WebAuthn L3 §13.4.9)."""
    return tuple(part if part.startswith("android:apk-key-hash:") else _origin(part)
                 for part in (piece.strip() for piece in raw.split(",")))


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 60:
        raise ValueError("must be a number of seconds above 0, at most 60")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


@dataclass(frozen=True)
class Settings:
    """Every Protekt setting, with its default and the reason for it."""

    issuer: str = _setting(
        "PROTEKT_ISSUER", "http://127.0.0.1:8000", _issuer,
        "Issuer URL: the iss of every token and the base of every endpoint URL.",
        "OIDC Discovery 1.0 §3, RFC 8414 §2",
    )
    database_url: str | None = _setting(
        "PROTEKT_DATABASE_URL", None, _database_url,
        "SQLAlchemy URL; empty means a SQLite file in the instance folder.",
    )
    database_pool_size: int = _setting(
        "PROTEKT_DATABASE_POOL_SIZE", 10, _positive_int,
        "PostgreSQL connections each server process keeps open; workers times this (plus the "
        "overflow) must stay under the server's max_connections.",
    )
    database_max_overflow: int = _setting(
        "PROTEKT_DATABASE_MAX_OVERFLOW", 10, _non_negative_int,
        "Connections a process may open beyond the pool under a burst, closed after use.",
    )
    redis_url: str = _setting(
        "PROTEKT_REDIS_URL", "redis://127.0.0.1:6379/0", _redis_url,
        "Short-lived state (counters, revoked token ids); memory:// is single-process only.",
    )
    redis_prefix: str = _setting(
        "PROTEKT_REDIS_PREFIX", "protekt", str,
        "Prefix of every key Protekt writes, so several deployments can share one Redis.",
    )
    redis_timeout: float = _setting(
        "PROTEKT_REDIS_TIMEOUT", 0.25, _positive_float,
        "Seconds to wait for Redis to connect or to answer a command before the request fails "
        "closed (503); one retry on a connection error.",
    )
    encryption_keys: tuple[bytes, ...] = _setting(
        "PROTEKT_ENCRYPTION_KEY", (), _encryption_keys,
        "32-byte keys (base64url, comma-separated) encrypting private keys, TOTP secrets and "
        "phone numbers at rest; the first encrypts, all decrypt.",
        "NIST SP 800-57 Part 1 §5.3 (key rotation)",
    )
    signing_alg: str = _setting(
        "PROTEKT_SIGNING_ALG", "RS256", _signing_alg,
        "JWS algorithm of issued tokens; RS256 is the one every OIDC client must support.",
        "OIDC Core §15.1, RFC 7518 §3.1",
    )
    access_token_ttl: int = _setting(
        "PROTEKT_ACCESS_TOKEN_TTL", 900, _positive_int,
        "Access token lifetime in seconds; short because a JWT cannot be recalled everywhere.",
        "RFC 9700 §2.2.2",
    )
    id_token_ttl: int = _setting(
        "PROTEKT_ID_TOKEN_TTL", 3600, _positive_int,
        "ID token lifetime in seconds.", "OIDC Core §2",
    )
    refresh_token_idle_ttl: int = _setting(
        "PROTEKT_REFRESH_TOKEN_IDLE_TTL", 15 * 86400, _positive_int,
        "A refresh token unused this many seconds expires.", "RFC 9700 §4.14.2",
    )
    refresh_token_absolute_ttl: int = _setting(
        "PROTEKT_REFRESH_TOKEN_ABSOLUTE_TTL", 30 * 86400, _positive_int,
        "A login's refresh tokens all expire this many seconds after the login.",
        "RFC 9700 §4.14.2",
    )
    refresh_token_retry_grace: int = _setting(
        "PROTEKT_REFRESH_TOKEN_RETRY_GRACE", 30, _non_negative_int,
        "Seconds after a rotation in which the same client presenting the rotated token again, "
        "while its successor is unused, gets the successor's replacement instead of a family "
        "revocation (a lost answer retried); 0 treats every second use as reuse.",
        "RFC 9700 §4.14.2",
    )
    authorization_code_ttl: int = _setting(
        "PROTEKT_AUTHORIZATION_CODE_TTL", 60, _positive_int,
        "Seconds an authorization code may wait for its exchange; single use either way.",
        "RFC 6749 §4.1.2, RFC 9700 §4.2",
    )
    sso_session_idle: int = _setting(
        "PROTEKT_SSO_SESSION_IDLE", 30 * 60, _positive_int,
        "A sign-in session of the hosted pages unused this many seconds ends; apps then ask "
        "for the password again.", "NIST SP 800-63B §7.1 (AAL2: 30 minutes of inactivity)",
    )
    sso_session_ttl: int = _setting(
        "PROTEKT_SSO_SESSION_TTL", 12 * 3600, _positive_int,
        "A sign-in session of the hosted pages ends this many seconds after the sign-in.",
        "NIST SP 800-63B §7.1 (AAL2: reauthentication every 12 hours)",
    )
    argon2_memory_kib: int = _setting(
        "PROTEKT_ARGON2_MEMORY_KIB", 19456, _positive_int,
        "argon2id memory cost (19 MiB).", "OWASP Password Storage Cheat Sheet; RFC 9106 §4",
    )
    argon2_time_cost: int = _setting(
        "PROTEKT_ARGON2_TIME_COST", 2, _positive_int,
        "argon2id iterations.", "OWASP Password Storage Cheat Sheet",
    )
    argon2_parallelism: int = _setting(
        "PROTEKT_ARGON2_PARALLELISM", 1, _positive_int,
        "argon2id lanes.", "OWASP Password Storage Cheat Sheet",
    )
    hash_concurrency: int = _setting(
        "PROTEKT_HASH_CONCURRENCY", 0, _non_negative_int,
        "Password hashes run at once per process; 0: cores / workers under `protekt serve`.",
    )
    login_account_failures: int = _setting(
        "PROTEKT_LOGIN_ACCOUNT_FAILURES", 10, _positive_int,
        "Failed passwords allowed per account name in one window before 429.",
        "NIST SP 800-63B §5.2.2",
    )
    login_account_window: int = _setting(
        "PROTEKT_LOGIN_ACCOUNT_WINDOW", 900, _positive_int,
        "Length in seconds of the per-account failure window.", "NIST SP 800-63B §5.2.2",
    )
    login_max_consecutive_failures: int = _setting(
        "PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES", 100, _positive_int,
        "Consecutive failures that lock an account until an operator unlocks it (at most 100).",
        "NIST SP 800-63B §5.2.2",
    )
    login_ip_failures: int = _setting(
        "PROTEKT_LOGIN_IP_FAILURES", 100, _positive_int,
        "Failed passwords allowed per client IP in one window before 429.",
        "NIST SP 800-63B §5.2.2",
    )
    login_ip_window: int = _setting(
        "PROTEKT_LOGIN_IP_WINDOW", 900, _positive_int,
        "Length in seconds of the per-IP failure window.",
    )
    trusted_proxies: int = _setting(
        "PROTEKT_TRUSTED_PROXIES", 0, _non_negative_int,
        "Reverse proxies in front of Protekt whose X-Forwarded-For/-Proto are believed.",
    )
    keys_refresh_interval: int = _setting(
        "PROTEKT_KEYS_REFRESH_INTERVAL", 30, _positive_int,
        "Seconds between checks for keys rotated by another process.",
    )
    sms_provider: str = _setting(
        "PROTEKT_SMS_PROVIDER", "console", _sms_provider,
        "Who delivers SMS codes: console (the log), file (a JSON-lines outbox), twilio, webhook.",
    )
    sms_outbox: str | None = _setting(
        "PROTEKT_SMS_OUTBOX", None, str,
        "With the file provider: the JSON-lines file each SMS is appended to.",
    )
    sms_timeout: float = _setting(
        "PROTEKT_SMS_TIMEOUT", 5.0, _positive_float,
        "Seconds to wait for the twilio or webhook provider before the send fails.",
    )
    twilio_account_sid: str | None = _setting(
        "PROTEKT_TWILIO_ACCOUNT_SID", None, str,
        "With twilio: the Account SID (AC...), the Basic-auth user of the REST API.",
    )
    twilio_auth_token: str | None = _setting(
        "PROTEKT_TWILIO_AUTH_TOKEN", None, str,
        "With twilio: the Auth Token, the Basic-auth password.",
    )
    twilio_from: str | None = _setting(
        "PROTEKT_TWILIO_FROM", None, str,
        "With twilio: the sender, an E.164 number or a Messaging Service SID (MG...).",
    )
    twilio_api_url: str = _setting(
        "PROTEKT_TWILIO_API_URL", "https://api.twilio.com", _http_url,
        "With twilio: the REST API's base URL (another edge, or a local stand-in in tests).",
    )
    sms_webhook_url: str | None = _setting(
        "PROTEKT_SMS_WEBHOOK_URL", None, _http_url,
        "With webhook: the URL each SMS is POSTed to as JSON.",
    )
    sms_webhook_secret: str | None = _setting(
        "PROTEKT_SMS_WEBHOOK_SECRET", None, str,
        "With webhook: the HMAC-SHA256 key signing each POST (at least 32 characters).",
    )
    cors_origins: tuple[str, ...] = _setting(
        "PROTEKT_CORS_ORIGINS", (), _origins,
        "Web origins (comma-separated) whose pages may call the token, MFA, userinfo and "
        "revocation endpoints and discovery from the browser; none by default.",
        "Fetch Standard §3.2 (CORS protocol)",
    )
    webauthn_rp_id: str | None = _setting(
        "PROTEKT_WEBAUTHN_RP_ID", None, _rp_id,
        "The WebAuthn relying party id passkeys are bound to: the issuer's host by default; a "
        "parent domain (example.com for login.example.com) lets the apps' own pages use them. "
        "Browsers refuse IP addresses.", "WebAuthn L3 §5.1.3, §13.4.9",
    )
    webauthn_origins: tuple[str, ...] = _setting(
        "PROTEKT_WEBAUTHN_ORIGINS", (), _webauthn_origins,
        "Origins (comma-separated) besides the issuer's that may answer a passkey ceremony: "
        "web origins under the RP ID, android:apk-key-hash:… for native apps.",
        "WebAuthn L3 §13.4.9",
    )
    log_level: str = _setting(
        "PROTEKT_LOG_LEVEL", "INFO", _log_level, "Log level of the server.",
    )
    metrics_cache_seconds: int = _setting(
        "PROTEKT_METRICS_CACHE_SECONDS", 5, _non_negative_int,
        "Seconds a process reuses its /metrics answer: a flood of scrapes then costs the "
        "database one count per process per period; 0 counts whenever no count is running.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every ``PROTEKT_*`` variable; raise ConfigError naming each bad one."""
        values: dict[str, Any] = {}
        errors: list[str] = []
        for spec in dataclasses.fields(cls):
            raw = environ.get(spec.metadata["env"], "").strip()
            if not raw:
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except ValueError as exc:
                errors.append(f"{spec.metadata['env']}: {exc} (got {raw[:60]!r})")
        settings = cls(**values)
        errors.extend(settings._consistency_errors())
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
        return settings

    def _consistency_errors(self) -> list[str]:
        errors = []
        if not self.encryption_keys:
            errors.append(
                "PROTEKT_ENCRYPTION_KEY: required; generate one with python3 -c "
                "'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
            )
        if self.login_max_consecutive_failures > 100:
            errors.append(
                "PROTEKT_LOGIN_MAX_CONSECUTIVE_FAILURES: at most 100 (NIST SP 800-63B §5.2.2)"
            )
        if self.refresh_token_idle_ttl > self.refresh_token_absolute_ttl:
            errors.append(
                "PROTEKT_REFRESH_TOKEN_IDLE_TTL: must not exceed PROTEKT_REFRESH_TOKEN_ABSOLUTE_TTL"
            )
        if self.refresh_token_retry_grace > MAX_RETRY_GRACE:
            errors.append(f"PROTEKT_REFRESH_TOKEN_RETRY_GRACE: at most {MAX_RETRY_GRACE} seconds "
                          "(a longer window leaves a stolen token more room)")
        if self.sso_session_idle > self.sso_session_ttl:
            errors.append("PROTEKT_SSO_SESSION_IDLE: must not exceed PROTEKT_SSO_SESSION_TTL")
        host = urlsplit(self.issuer).hostname or ""
        if self.webauthn_rp_id and not (host == self.webauthn_rp_id
                                        or host.endswith("." + self.webauthn_rp_id)):
            errors.append("PROTEKT_WEBAUTHN_RP_ID: must be the issuer's host or a parent domain "
                          f"of it ({host}); browsers refuse any other (WebAuthn L3 §5.1.3)")
        return errors + self._sms_errors()

    def _sms_errors(self) -> list[str]:
        """The variables the chosen SMS provider needs, named when missing."""
        needed = {
            "file": ["sms_outbox"],
            "twilio": ["twilio_account_sid", "twilio_auth_token", "twilio_from"],
            "webhook": ["sms_webhook_url", "sms_webhook_secret"],
        }.get(self.sms_provider, [])
        env = {f.name: f.metadata["env"] for f in dataclasses.fields(self)}
        errors = [f"{env[name]}: required with PROTEKT_SMS_PROVIDER={self.sms_provider}"
                  for name in needed if not getattr(self, name)]
        if self.sms_webhook_secret is not None and len(self.sms_webhook_secret) < 32:
            errors.append("PROTEKT_SMS_WEBHOOK_SECRET: must be at least 32 characters")
        return errors

    @property
    def uses_memory_store(self) -> bool:
        return self.redis_url.startswith("memory:")

    @property
    def rp_id(self) -> str:
        """The WebAuthn RP ID in force: the configured one, or the issuer's host."""
        return self.webauthn_rp_id or urlsplit(self.issuer).hostname or ""

    @property
    def webauthn_origins_accepted(self) -> tuple[str, ...]:
        """The issuer's origin and the configured extra ones (WebAuthn L3 §7.1 step 9)."""
        parts = urlsplit(self.issuer)
        return (_origin(f"{parts.scheme}://{parts.netloc}"), *self.webauthn_origins)

    @property
    def max_token_ttl(self) -> int:
        """Longest lifetime of a signed token: how long a retired key must stay published."""
        return max(self.access_token_ttl, self.id_token_ttl)


def describe() -> list[tuple[str, str, str, str]]:
    """(variable, default, meaning, reference) for every setting, for docs and the env example."""
    rows = []
    for spec in dataclasses.fields(Settings):
        default = "" if spec.default in (None, ()) else str(spec.default)
        rows.append((spec.metadata["env"], default, spec.metadata["doc"], spec.metadata["ref"]))
    return rows
