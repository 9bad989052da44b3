"""The SDK's access-token verifier against a JWKS served over loopback: key caching and refetch,
the algorithm allow-list, the ``typ`` check, and the RFC 6750 challenge it writes."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from protekt.resource import (
    AccessTokenVerifier,
    BearerError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidToken,
    Jwks,
    KeysUnavailable,
)

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"


class KeyHost:
    """An issuer's JWKS endpoint on loopback that counts its fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0
        self.fail = False
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.fetches += 1
                body = json.dumps(host.jwks()).encode()
                self.send_response(500 if host.fail else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks"

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
        return {"keys": keys}

    def add_key(self, kid: str) -> None:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())

    def token(self, kid: str, typ: str = "at+jwt", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + 60,
                "client_id": "c1", "jti": secrets.token_hex(8), "scope": "openid read:messages",
                "amr": ["pwd"], **claims}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, self.keys[kid], algorithm="ES256",
                          headers={"kid": kid, "typ": typ})


@pytest.fixture
def host() -> Iterator[KeyHost]:
    host = KeyHost()
    host.add_key("k1")
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    yield host
    host.server.shutdown()


def verifier(host: KeyHost, cooldown: float = 30.0) -> AccessTokenVerifier:
    return AccessTokenVerifier(ISSUER, AUDIENCE, jwks=Jwks(host.url, cooldown=cooldown))


def test_keys_are_fetched_once_for_many_tokens(host: KeyHost) -> None:
    checker = verifier(host)
    for _ in range(5):
        assert checker.verify(host.token("k1"), scope="read:messages")["sub"] == "u1"
    assert host.fetches == 1


def test_an_unknown_kid_refetches_at_most_once_per_cooldown(host: KeyHost) -> None:
    checker = verifier(host, cooldown=0.5)
    checker.verify(host.token("k1"))
    host.add_key("k2")
    with pytest.raises(InvalidToken, match="not signed by a key of the issuer"):
        checker.verify(host.token("k2"))  # within the cool-down: k2 is not looked for
    assert host.fetches == 1
    time.sleep(0.6)
    assert checker.verify(host.token("k2"))["sub"] == "u1"  # a rotation is picked up
    stranger = ec.generate_private_key(ec.SECP256R1())
    for index in range(5):  # made-up key ids cannot make the API hammer the issuer
        forged = jwt.encode({"sub": "u1"}, stranger, algorithm="ES256",
                            headers={"kid": f"made-up-{index}", "typ": "at+jwt"})
        with pytest.raises(InvalidToken, match="not signed by a key of the issuer"):
            checker.verify(forged)
    assert host.fetches == 2


@pytest.mark.parametrize(("typ", "claims", "message"), [
    ("JWT", {}, "not an access token"),
    ("at+jwt", {"iss": "https://elsewhere.example"}, "another issuer"),
    ("at+jwt", {"aud": "https://other-api.example"}, "not meant for this API"),
    ("at+jwt", {"exp": int(time.time()) - 60}, "expired"),
])
def test_tokens_that_are_not_for_this_api_are_refused(
    host: KeyHost, typ: str, claims: dict[str, Any], message: str,
) -> None:
    with pytest.raises(InvalidToken, match=message):
        verifier(host).verify(host.token("k1", typ=typ, **claims))


def test_an_hmac_token_is_refused_before_any_key_is_looked_up(host: KeyHost) -> None:
    token = jwt.encode({"sub": "u1"}, "a-shared-secret-of-thirty-two-bytes", algorithm="HS256",
                       headers={"typ": "at+jwt"})
    with pytest.raises(InvalidToken, match="algorithm is not accepted"):
        verifier(host).verify(token)
    assert host.fetches == 0


def test_unreachable_keys_are_not_the_tokens_fault(host: KeyHost) -> None:
    checker = AccessTokenVerifier(ISSUER, AUDIENCE, jwks=Jwks(host.url + "/missing"))
    host.server.shutdown()
    host.server.server_close()
    with pytest.raises(KeysUnavailable) as refused:
        checker.verify(host.token("k1"))
    assert (refused.value.status, refused.value.error) == (503, "temporarily_unavailable")


def test_the_challenge_names_the_scope_and_keeps_to_rfc_6750_characters() -> None:
    refusal = InsufficientScope('needs "read:messages" \\ ok é', "read:messages")
    assert refusal.www_authenticate() == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="needs read:messages  ok ", scope="read:messages"')
    assert BearerError("x").status == 401


def test_a_login_without_mfa_is_told_which_acr_values_to_sign_in_with() -> None:
    """RFC 9470 §3: the challenge names the acr_values that lead back to the second factor."""
    refusal = InsufficientUserAuthentication("log in with MFA")
    assert refusal.www_authenticate() == (
        'Bearer realm="api", error="insufficient_user_authentication", '
        'error_description="log in with MFA", '
        'acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"')


def test_an_outage_keeps_the_keys_already_known(host: KeyHost) -> None:
    jwks = Jwks(host.url, cooldown=0.0, max_age=0.0, timeout=1)
    checker = AccessTokenVerifier(ISSUER, AUDIENCE, jwks=jwks)
    checker.verify(host.token("k1"))
    token = host.token("k1")
    host.server.shutdown()
    host.server.server_close()
    assert checker.verify(token)["sub"] == "u1"  # the refresh failed; the known key still works


def test_failed_fetches_are_cooled_down_too(host: KeyHost) -> None:
    token = host.token("k1")
    checker = AccessTokenVerifier(ISSUER, AUDIENCE,
                                  jwks=Jwks(host.url + "/missing", cooldown=30.0))
    host.fail = True
    for _ in range(5):
        with pytest.raises(KeysUnavailable):
            checker.verify(token)
    assert host.fetches == 1


@pytest.mark.parametrize(("claims", "message"), [
    ({"amr": "pwd mfa"}, "second factor"),
    ({"amr": ["pwd"]}, "second factor"),
])
def test_mfa_means_mfa_in_an_amr_list(host: KeyHost, claims: dict[str, Any],
                                      message: str) -> None:
    with pytest.raises(BearerError, match=message):
        verifier(host).verify(host.token("k1", **claims), require_mfa=True)


@pytest.mark.parametrize("claim", ["client_id", "jti", "sub", "iat"])
def test_the_claims_of_rfc_9068_are_required(host: KeyHost, claim: str) -> None:
    token = host.token("k1", **{claim: None})
    with pytest.raises(InvalidToken, match="malformed"):
        verifier(host).verify(token)


@pytest.mark.parametrize("issuer", ["http://issuer.example", "ftp://issuer.example", "issuer"])
def test_an_issuer_reached_in_the_clear_is_refused(issuer: str) -> None:
    with pytest.raises(ValueError, match="issuer must"):
        AccessTokenVerifier(issuer, AUDIENCE)
