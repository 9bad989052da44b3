"""The Flask decorator: the Authorization header it accepts (RFC 6750 §2.1), and its answer when
the issuer's keys cannot be had (the refusals themselves: tests/e2e/test_resource_servers.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from protekt import AccessTokenVerifier, Jwks
from protekt.flask import bearer_token, require_access_token
from tests.support import free_port


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc.def.ghi", "abc.def.ghi"),
    ("bearer abc", "abc"),  # the scheme is case-insensitive (RFC 9110 §11.1)
    ("Basic dXNlcjpwdw==", None),
    ("Bearer", None),
    ("Bearer ", None),
    ("Bearer a b", None),
    ("", None),
])
def test_bearer_token(header: str, token: str | None) -> None:
    assert bearer_token(header) == token


def test_unreachable_issuer_keys_answer_503_with_retry_after() -> None:
    app = Flask(__name__)
    jwks = Jwks(f"http://127.0.0.1:{free_port()}/jwks.json", timeout=1)
    verifier = AccessTokenVerifier("https://issuer.example", "https://api.example", jwks=jwks)

    @app.get("/messages")
    @require_access_token(verifier, scope="read:messages")
    def messages() -> str:
        return "never"

    token = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.e30.c2ln"
    response = app.test_client().get("/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "WWW-Authenticate" not in response.headers
    assert response.get_json()["error"] == "temporarily_unavailable"
