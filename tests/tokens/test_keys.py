"""Signing keys: made on first use, encrypted at rest, rotated, retired after retention."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import select, update

from authserver.extensions import db, services
from authserver.models import SigningKey
from authserver.models.base import utcnow


@pytest.mark.parametrize(("alg", "kty"), [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")])
def test_each_algorithm_signs_tokens_a_resource_server_verifies(
    make_app: Callable[..., Flask], alg: str, kty: str,
) -> None:
    app = make_app(PROTEKT_SIGNING_ALG=alg)
    with app.app_context():
        signed = services.keyring.sign({"sub": "x", "aud": "api"}, "at+jwt")
        jwks = services.keyring.jwks()
    header = jwt.get_unverified_header(signed)
    assert (header["alg"], header["typ"]) == (alg, "at+jwt")
    published = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert (published["kty"], published["alg"]) == (kty, alg)
    claims = jwt.decode(signed, jwt.PyJWK(published), algorithms=[alg], audience="api")
    assert claims["sub"] == "x"


def test_the_private_key_is_stored_encrypted(app: Flask) -> None:
    with app.app_context():
        kid = services.keyring.active_key().kid
        row = db.session.get_one(SigningKey, kid)
    assert b"PRIVATE KEY" not in row.private_key
    assert "d" not in row.public_jwk


def test_keys_are_parsed_once_then_reused(app: Flask) -> None:
    with app.app_context():
        first = services.keyring.active_key()
        assert services.keyring.active_key() is first


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(app: Flask) -> None:
    with app.app_context():
        old = services.keyring.active_key()
        new = services.keyring.roll_over()
        assert new.kid != old.kid
        assert jwt.get_unverified_header(services.keyring.sign({}, "JWT"))["kid"] == new.kid
        published = {k["kid"] for k in services.keyring.jwks()["keys"]}
    assert {old.kid, new.kid} <= published


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(app: Flask) -> None:
    with app.app_context():
        old = services.keyring.active_key()
        services.keyring.roll_over()
        long_ago = utcnow() - timedelta(seconds=services.settings.max_token_ttl + 3600)
        db.session.execute(update(SigningKey).where(SigningKey.kid == old.kid)
                           .values(retired_at=long_ago))
        db.session.commit()
        services.keyring._checked_at = float("-inf")  # as if the refresh interval had passed
        assert old.kid not in {k["kid"] for k in services.keyring.jwks()["keys"]}


def test_another_process_sees_a_rotation_within_the_refresh_interval(
    make_app: Callable[..., Flask],
) -> None:
    server = make_app(PROTEKT_KEYS_REFRESH_INTERVAL="1")
    operator = make_app()  # `protekt keys rotate` runs in a process of its own
    with server.app_context():
        before = services.keyring.active_key().kid
    with operator.app_context():
        rotated = services.keyring.roll_over().kid
    with server.app_context():
        assert services.keyring.active_key().kid == before  # cached within the interval
        services.keyring._checked_at -= 1.0
        assert services.keyring.active_key().kid == rotated


def test_a_token_signed_by_a_key_this_process_has_not_loaded_yet_verifies(
    make_app: Callable[..., Flask],
) -> None:
    """Worker A rotates and signs; worker B, within its refresh interval, must still accept."""
    worker_b = make_app(PROTEKT_KEYS_REFRESH_INTERVAL="3600")
    worker_a = make_app()
    with worker_b.app_context():
        services.keyring.active_key()
    with worker_a.app_context():
        services.keyring.roll_over()
        now = int(time.time())
        signed = services.keyring.sign({
            "iss": services.settings.issuer, "sub": "u", "aud": services.settings.issuer,
            "client_id": "c", "scope": "openid", "iat": now, "exp": now + 60, "jti": "j",
        }, "at+jwt")
    with worker_b.app_context():
        assert services.access_tokens.decode(signed) is not None


def test_changing_the_algorithm_retires_keys_of_the_old_one(make_app: Callable[..., Flask]) -> None:
    rsa_app = make_app(PROTEKT_SIGNING_ALG="RS256")
    with rsa_app.app_context():
        rsa_kid = services.keyring.active_key().kid
    ec_app = make_app(PROTEKT_SIGNING_ALG="ES256")
    with ec_app.app_context():
        assert services.keyring.active_key().alg == "ES256"
        retired: Any = db.session.scalar(select(SigningKey.retired_at)
                                         .where(SigningKey.kid == rsa_kid))
        assert retired is not None
