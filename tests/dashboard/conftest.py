"""Dashboard fixtures: an administrator, and a Flask test client signed in as them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.support import TotpDevice

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin password for tests"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'<code id="secret">([A-Z2-7]+)</code>')


def csrf_of(page: Any) -> str:
    found = CSRF.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


@dataclass
class Console:
    """A browser's view of the dashboard: the test client, its CSRF token, the admin's app."""

    http: FlaskClient
    csrf: str = ""
    device: TotpDevice | None = None
    recovery_codes: list[str] | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(f"/dashboard{path}", **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post with the session's CSRF token."""
        return self.http.post(f"/dashboard{path}", data={"csrf_token": self.csrf, **(data or {})},
                              **kwargs)

    def refresh_csrf(self, path: str = "/signin") -> None:
        self.csrf = csrf_of(self.get(path))

    def password(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
        self.refresh_csrf()
        return self.post("/signin", {"email": email, "password": password})

    def enroll(self) -> Any:
        """After the password: add an app from the enrollment page and confirm a first code."""
        page = self.get("/signin/enroll")
        found = SECRET.search(page.get_data(as_text=True))
        assert found, page.get_data(as_text=True)
        self.device = TotpDevice(found.group(1))
        self.csrf = csrf_of(page)
        done = self.post("/signin/enroll", {"code": self.device.next_code()})
        self.recovery_codes = re.findall(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}",
                                         done.get_data(as_text=True))
        self.refresh_csrf("/security")
        return done

    def code(self, code: str) -> Any:
        self.refresh_csrf("/signin/code")
        return self.post("/signin/code", {"code": code})


@pytest.fixture
def make_admin_user(app: Flask) -> Callable[..., str]:
    def create(email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
        with app.app_context():
            admin = services.administration.create(email, password, is_admin=True)
            return admin.id

    return create


@pytest.fixture
def console(app: Flask, make_admin_user: Callable[..., str]) -> Console:
    """Signed in as a new administrator, who enrolled an authenticator app on the way."""
    make_admin_user()
    console = Console(app.test_client())
    assert console.password().status_code == 302
    assert console.enroll().status_code == 200
    return console
