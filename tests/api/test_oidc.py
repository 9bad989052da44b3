"""Discovery, the JWKS, and /userinfo -- including forged and misused tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.conftest import RegisteredClient, assert_error, password_login, unverified

ISSUER = "http://127.0.0.1:8000"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration",
                                  "/.well-known/oauth-authorization-server"])
def test_discovery_documents(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    meta = response.get_json()
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert meta["issuer"] == ISSUER
    assert meta["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert meta["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert meta["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert meta["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert {"password", "refresh_token", "client_credentials"} <= set(
        meta["grant_types_supported"])
    assert meta["subject_types_supported"] == ["public"]
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "none"}
    assert "openid" in meta["scopes_supported"]
    assert {"sub", "email", "amr", "auth_time"} <= set(meta["claims_supported"])
    assert "response_types_supported" in meta


def test_both_documents_are_the_same(client: FlaskClient) -> None:
    assert client.get("/.well-known/openid-configuration").get_json() == \
        client.get("/.well-known/oauth-authorization-server").get_json()


def test_jwks_publishes_public_members_only(client: FlaskClient, user: Any,
                                            web_app: RegisteredClient) -> None:
    password_login(client, web_app)
    response = client.get("/.well-known/jwks.json")
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    keys = response.get_json()["keys"]
    assert keys
    for key in keys:
        assert {"kid", "kty", "use", "alg"} <= set(key)
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key)


def test_tokens_verify_against_the_jwks(client: FlaskClient, user: Any,
                                        web_app: RegisteredClient) -> None:
    body = password_login(client, web_app).get_json()
    jwks = client.get("/.well-known/jwks.json").get_json()
    header, _ = unverified(body["access_token"])
    key = jwt.PyJWK({k: v for k, v in next(k for k in jwks["keys"]
                                            if k["kid"] == header["kid"]).items()})
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"], audience=ISSUER,
                        issuer=ISSUER)
    assert claims["sub"] == user.id
    jwt.decode(body["id_token"], key, algorithms=["RS256"], audience=web_app.client_id)


# /userinfo -------------------------------------------------------------------------------------


def test_userinfo_by_get_and_post(client: FlaskClient, user: Any,
                                  web_app: RegisteredClient) -> None:
    access = password_login(client, web_app).get_json()["access_token"]
    expected = {"sub": user.id, "email": "ann@example.org", "email_verified": False}
    got = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert got.get_json() == expected and got.headers["Cache-Control"] == "no-store"
    posted = client.post("/userinfo", data={"access_token": access})
    assert posted.get_json() == expected


def test_userinfo_without_a_token_is_a_bare_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/userinfo")
    assert_error(response, "invalid_token", 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_userinfo_needs_the_openid_scope(client: FlaskClient, user: Any,
                                         web_app: RegisteredClient) -> None:
    access = password_login(client, web_app, scope="email").get_json()["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert_error(response, "insufficient_scope", 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_token_in_header_and_body_is_invalid_request(client: FlaskClient, user: Any,
                                                       web_app: RegisteredClient) -> None:
    access = password_login(client, web_app).get_json()["access_token"]
    response = client.post("/userinfo", data={"access_token": access},
                           headers={"Authorization": f"Bearer {access}"})
    assert_error(response, "invalid_request", 400)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(signature)}"


def _hs256_with_public_key(token_value: str, client: FlaskClient) -> str:
    """The classic key-confusion attack: HMAC keyed with the server's public key (RFC 8725 §2.1)."""
    header, claims = unverified(token_value)
    jwk = next(k for k in client.get("/.well-known/jwks.json").get_json()["keys"]
               if k["kid"] == header["kid"])
    public_pem = jwt.PyJWK(jwk).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {**header, "alg": "HS256"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _tamper(token_value: str) -> str:
    head, payload, signature = token_value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("attack", ["alg none", "hs256 with public key", "tampered payload",
                                    "id token as access token", "expired", "wrong issuer",
                                    "not yet valid", "issued in the future",
                                    "garbage", "unknown kid"])
def test_forged_or_misused_tokens_are_refused(app: Flask, client: FlaskClient, user: Any,
                                              web_app: RegisteredClient, attack: str) -> None:
    body = password_login(client, web_app).get_json()
    header, claims = unverified(body["access_token"])
    forged = {
        "alg none": lambda: _forge({**header, "alg": "none"}, claims),
        "hs256 with public key": lambda: _hs256_with_public_key(body["access_token"], client),
        "tampered payload": lambda: _tamper(body["access_token"]),
        "id token as access token": lambda: body["id_token"],
        "expired": lambda: _sign(app, {**claims, "exp": int(time.time()) - 1}),
        "wrong issuer": lambda: _sign(app, {**claims, "iss": "https://evil.example.com"}),
        "not yet valid": lambda: _sign(app, {**claims, "nbf": int(time.time()) + 3600}),
        "issued in the future": lambda: _sign(app, {**claims, "iat": int(time.time()) + 3600}),
        "garbage": lambda: "not.a.jwt",
        "unknown kid": lambda: _forge({**header, "kid": "nope"}, claims, b"sig"),
    }[attack]()
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, "invalid_token", 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def _sign(app: Flask, claims: dict[str, Any]) -> str:
    """A token signed by the server's own key with altered claims (what an insider bug makes)."""
    with app.app_context():
        return services.keyring.sign(claims, "at+jwt")
