"""Fixtures: the app on SQLite and on PostgreSQL, real Redis, and factories for users and clients.

PostgreSQL comes from PROTEKT_TEST_POSTGRES_URL (default: the local server's ``test`` database),
Redis from PROTEKT_TEST_REDIS_URL. Where a server does not answer, the tests that need it are
skipped with a line saying so -- unless PROTEKT_REQUIRE_SERVICES=1 (set by CI), which turns the
skip into a failure so CI always runs them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from authserver import create_app
from authserver.config import Settings
from authserver.extensions import db, services
from authserver.migrate import upgrade
from authserver.models import Base
from tests.support import TEST_ENCRYPTION_KEY, Outbox, TcpProxy, TotpDevice

POSTGRES_URL = os.environ.get(
    "PROTEKT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PROTEKT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("PROTEKT_REQUIRE_SERVICES") == "1"
FAST_ARGON2 = {"PROTEKT_ARGON2_MEMORY_KIB": "1024", "PROTEKT_ARGON2_TIME_COST": "1"}


def _unavailable(what: str, url: str, exc: Exception) -> None:
    message = f"{what} not reachable at {url} ({type(exc).__name__}); tests that need it skipped"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} -- but PROTEKT_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(message)


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled the files
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end files first, each file's tests in their order: pytest-xdist (``--dist
    loadfile``) hands files out in this order, so their waits (servers starting, TOTP steps, an
    mfa_token expiring) overlap the fast files instead of trailing them."""
    items.sort(key=lambda item: "e2e" not in item.path.parts)


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable("Redis", REDIS_URL, exc)
    return REDIS_URL


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A migrated schema of the caller's own in the PostgreSQL test database; dropped after."""
    schema = f"protekt_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        _unavailable("PostgreSQL", POSTGRES_URL, exc)
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "protekt.db"
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """PostgreSQL reached through a proxy the test can cut: an outage without stopping it."""
    proxy = TcpProxy("127.0.0.1", int(POSTGRES_URL.split(":")[-1].split("/")[0]))
    proxy.start()
    yield proxy, postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    proxy.cut()


@pytest.fixture
def proxied_redis(redis_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """Redis (the suite's, with its data) reached through a proxy the test can cut."""
    host_port = redis_url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    proxy.start()
    yield proxy, redis_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    proxy.cut()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every test that takes this runs twice: on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"protekt-test-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        client.delete(key)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    """Where this test's SMS go (the ``file`` provider)."""
    return Outbox(tmp_path / "sms-outbox.jsonl")


@pytest.fixture
def env(database_url: str, redis_url: str, redis_prefix: str, outbox: Outbox) -> dict[str, str]:
    """PROTEKT_* variables for an app on this test's database and Redis prefix."""
    return {
        "PROTEKT_DATABASE_URL": database_url,
        "PROTEKT_REDIS_URL": redis_url,
        "PROTEKT_REDIS_PREFIX": redis_prefix,
        "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "PROTEKT_ISSUER": "http://127.0.0.1:8000",
        "PROTEKT_SMS_PROVIDER": "file",
        "PROTEKT_SMS_OUTBOX": str(outbox.path),
        "PROTEKT_METRICS_CACHE_SECONDS": "0",  # every scrape counts afresh
        **FAST_ARGON2,
    }


@pytest.fixture
def make_app(env: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Build apps on this test's database with extra settings; rows are cleared afterwards."""
    apps: list[Flask] = []

    def build(**overrides: str) -> Flask:
        app = create_app(Settings.from_env({**env, **overrides}))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for index, app in enumerate(apps):
        with app.app_context():
            if index == 0:
                _clear_tables()
            db.engine.dispose()


def _clear_tables() -> None:
    """Delete every row except signing keys (reused across tests: RSA generation is slow)."""
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "signing_keys":
                conn.execute(table.delete())


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str | None

    @property
    def basic(self) -> tuple[str, str]:
        assert self.client_secret is not None
        return (self.client_id, self.client_secret)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Any]:
    def create(email: str = "ann@example.org", password: str = "correct horse battery") -> Any:
        with app.app_context():
            user = services.administration.create(email, password)
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return create


@pytest.fixture
def make_client(app: Flask) -> Callable[..., RegisteredClient]:
    def create(**kwargs: Any) -> RegisteredClient:
        with app.app_context():
            client, secret = services.flows.client_administration.create(
                kwargs.pop("name", "Test app"), **kwargs)
            return RegisteredClient(client.client_id, secret)

    return create


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user()


@pytest.fixture
def web_app(make_client: Callable[..., RegisteredClient]) -> RegisteredClient:
    """A confidential client with the password and refresh_token grants."""
    return make_client(name="Web app")


def token(client: FlaskClient, data: dict[str, str], auth: tuple[str, str] | None = None,
          **kwargs: Any) -> Any:
    """POST /oauth/token as a form, with HTTP Basic client authentication when auth is given."""
    return client.post("/oauth/token", data=data, auth=auth, **kwargs)


def password_login(client: FlaskClient, app_client: RegisteredClient, **extra: str) -> Any:
    data = {"grant_type": "password", "username": "ann@example.org",
            "password": "correct horse battery", **extra}
    return token(client, data, auth=app_client.basic)


MFA_SCOPE = "openid enroll read:authenticators remove:authenticators"
GRANT_URI = "http://protekt.dev/oauth/grant-type/"


def bearer(token_value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_value}"}


def access_token(client: FlaskClient, app_client: RegisteredClient, scope: str = MFA_SCOPE,
                 **extra: str) -> str:
    """A password-only access token (amr pwd) for the MFA endpoints."""
    response = password_login(client, app_client, scope=scope, **extra)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def mfa_token(client: FlaskClient, app_client: RegisteredClient, **extra: str) -> str:
    """The mfa_token of a password login that needs a second factor."""
    response = password_login(client, app_client, **extra)
    assert response.status_code == 403, response.get_json()
    return response.get_json()["mfa_token"]


def mfa_grant(client: FlaskClient, app_client: RegisteredClient, kind: str, **params: str) -> Any:
    """POST /oauth/token with grant_type mfa-otp, mfa-recovery-code, ..."""
    return token(client, {"grant_type": GRANT_URI + kind, **params}, auth=app_client.basic)


def associate(client: FlaskClient, bearer_token: str) -> tuple[dict[str, Any], TotpDevice]:
    response = client.post("/mfa/associate", json={"type": "otp"}, headers=bearer(bearer_token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body, TotpDevice(body["secret"])


def confirm(client: FlaskClient, bearer_token: str, authenticator_id: str, code: str) -> Any:
    return client.post(f"/mfa/authenticators/{authenticator_id}/confirm", json={"otp": code},
                       headers=bearer(bearer_token))


@dataclass
class EnrolledUser:
    """A user with one active authenticator app and a set of recovery codes."""

    device: TotpDevice
    authenticator_id: str
    recovery_codes: list[str]


def enroll(client: FlaskClient, app_client: RegisteredClient, **extra: str) -> EnrolledUser:
    """Enroll and confirm an authenticator app through the API, with a password-only token."""
    bearer_token = access_token(client, app_client, **extra)
    body, device = associate(client, bearer_token)
    confirmed = confirm(client, bearer_token, body["id"], device.next_code())
    assert confirmed.status_code == 200, confirmed.get_json()
    return EnrolledUser(device, body["id"], body["recovery_codes"])


@pytest.fixture
def mfa_user(client: FlaskClient, web_app: RegisteredClient, user: Any) -> EnrolledUser:
    """Ann, enrolled with an authenticator app, for the web app."""
    return enroll(client, web_app)


ROOT = Path(__file__).resolve().parent.parent


def unverified(token_value: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT, for asserting on them; signatures are checked elsewhere."""
    return jwt.get_unverified_header(token_value), jwt.decode(
        token_value, options={"verify_signature": False}
    )


def assert_error(response: Any, error: str, status: int) -> dict[str, Any]:
    """The response is a JSON OAuth error with this code and status, and a description."""
    body = response.get_json()
    assert (response.status_code, body.get("error")) == (status, error), body
    assert body.get("error_description"), "an error must say what to do about it"
    assert response.headers["Content-Type"] == "application/json"
    for leak in ("Traceback", "sqlalchemy", "redis", "authserver", "SELECT"):
        assert leak not in response.get_data(as_text=True)
    return body
