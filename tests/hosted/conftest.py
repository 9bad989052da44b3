"""A browser for the hosted pages: Flask's test client keeps the cookies; helpers follow the
redirects of a sign-in and fill its forms as a person would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.conftest import RegisteredClient, token

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "https://app.example.com/callback"
OTHER_CALLBACK = "https://other.example.com/cb"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def s256(verifier: str) -> str:
    """The PKCE challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Request:
    """One authorization request an app makes, with what it keeps to finish it."""

    app: RegisteredClient
    redirect_uri: str = CALLBACK
    scope: str = "openid"
    extra: dict[str, str] = field(default_factory=dict)
    state: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    def params(self) -> dict[str, str]:
        return {"response_type": "code", "client_id": self.app.client_id,
                "redirect_uri": self.redirect_uri, "scope": self.scope, "state": self.state,
                "nonce": self.nonce, "code_challenge": s256(self.verifier),
                "code_challenge_method": "S256", **self.extra}


class Browser:
    """The user's browser on the hosted pages."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def authorize(self, request: Request) -> Any:
        return self.client.get("/authorize?" + urlencode(request.params()))

    def follow(self, response: Any) -> Any:
        """Follow redirects within the server; stop at a page or a redirect to an app."""
        while response.status_code in (302, 303) and _ours(response.headers["Location"]):
            response = self.client.get(_path(response.headers["Location"]))
        return response

    def submit(self, page: Any, action: str, **fields: str) -> Any:
        """Post a form of this page with its CSRF token, as the browser would."""
        found = CSRF.search(page.get_data(as_text=True))
        assert found, page.get_data(as_text=True)[:500]
        return self.client.post(action, data={"csrf_token": found.group(1), **fields})

    def sign_in(self, request: Request, email: str = "ann@example.org",
                password: str = PASSWORD) -> Any:
        """From /authorize through the password page; the answer after it, followed."""
        page = self.follow(self.authorize(request))
        assert page.status_code == 200 and 'autocomplete="current-password"' in page.get_data(
            as_text=True), page.get_data(as_text=True)[:500]
        return self.follow(self.submit(page, "/signin", email=email, password=password))


def _ours(location: str) -> bool:
    return location.startswith("/") or location.startswith(ISSUER)


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_at_app(response: Any, request: Request) -> dict[str, str]:
    """The parameters the app receives at its redirect_uri."""
    assert response.status_code in (302, 303), (response.status_code,
                                                response.get_data(as_text=True))
    location = response.headers["Location"]
    assert location.startswith(request.redirect_uri + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(client: FlaskClient, request: Request, code: str, **extra: str) -> Any:
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": request.redirect_uri, "code_verifier": request.verifier, **extra}
    app = request.app
    if app.client_secret is None:
        return token(client, {**data, "client_id": app.client_id})
    return token(client, data, auth=app.basic)


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def rp(make_client: Any) -> RegisteredClient:
    """A confidential first-party web app registered for the browser sign-in."""
    return make_client(name="Web app", redirect_uris=[CALLBACK],
                       post_logout_redirect_uris=["https://app.example.com/bye"])
