"""End-to-end fixtures: ``protekt serve`` (2 workers) on PostgreSQL and Redis, over loopback;
Debian's Chromium through Playwright (``browser``, for tests marked ``needs_chromium``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import postgres_schema
from tests.support import TEST_ENCRYPTION_KEY, ProtektServer, protekt

PASSWORD = "correct horse battery staple"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# For the tests that use ``browser``: skipped where Debian's Chromium is not installed.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium missing (Debian package chromium; ./scripts/test.sh installs it)")

pytestmark = pytest.mark.e2e


@dataclass
class Deployment:
    """A running server and the credentials made for it with the CLI."""

    server: ProtektServer
    client_id: str
    client_secret: str
    email: str = "ann@example.org"

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, **data: str) -> requests.Response:
        return requests.post(f"{self.url}/oauth/token", data=data,
                             auth=(self.client_id, self.client_secret), timeout=30)

    def login(self, password: str = PASSWORD) -> requests.Response:
        return self.token(grant_type="password", username=self.email, password=password)

    def login_with(self, **extra: str) -> requests.Response:
        """The password login with more parameters (a scope, an audience)."""
        return self.token(grant_type="password", username=self.email, password=PASSWORD,
                          **extra)

    def cli(self, *args: str) -> Any:
        result = protekt(self.server.env, *args)
        assert result.returncode == 0, result.stderr
        return result


def deploy(env: dict[str, str], host: str = "127.0.0.1") -> Deployment:
    """Create a user and a client with the CLI, then start the server."""
    server = ProtektServer(env, host=host)
    created = protekt(server.env, "create-user", "--email", "ann@example.org",
                      "--password", PASSWORD, "--json")
    assert created.returncode == 0, created.stderr
    made = protekt(server.env, "create-client", "--name", "E2E app", "--json")
    assert made.returncode == 0, made.stderr
    client = json.loads(made.stdout)
    server.start()
    return Deployment(server, client["client_id"], client["client_secret"])


@pytest.fixture(scope="module")
def make_deployment(redis_url: str) -> Iterator[Callable[..., Deployment]]:
    """Start servers with settings of the test's choosing; each on a fresh schema and prefix."""
    with ExitStack() as stack:

        def start(host: str = "127.0.0.1", **settings: str) -> Deployment:
            env = {
                "PROTEKT_DATABASE_URL": stack.enter_context(postgres_schema()),
                "PROTEKT_REDIS_URL": redis_url,
                "PROTEKT_REDIS_PREFIX": f"protekt-e2e-{secrets.token_hex(6)}",
                "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
                "PROTEKT_KEYS_REFRESH_INTERVAL": "1",
                **settings,
            }
            deployment = deploy(env, host)
            stack.callback(deployment.server.stop)
            return deployment

        yield start


@pytest.fixture(scope="module")
def deployment(make_deployment: Callable[..., Deployment]) -> Deployment:
    return make_deployment()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright: one per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
