"""The database never holds a password, client secret, refresh token, private key, TOTP secret,
recovery code or phone number in the clear; Redis holds no mfa_token, SMS code or oob_code.

The test reads every row of every table, as someone with a copy of the database would.
"""

from __future__ import annotations

import base64
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.models import Base
from tests.conftest import (
    RegisteredClient,
    access_token,
    bearer,
    enroll,
    mfa_token,
    password_login,
    token,
)
from tests.support import Outbox


def _every_cell(app: Flask) -> str:
    cells: list[str] = []
    with app.app_context(), db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    cells.append(value.decode("latin-1") if isinstance(value, bytes)
                                 else str(value))
    return "\n".join(cells)


def test_no_secret_is_stored_in_plain_text(app: Flask, client: FlaskClient, user: Any,
                                           web_app: RegisteredClient) -> None:
    first = password_login(client, web_app).get_json()["refresh_token"]
    second = token(client, {"grant_type": "refresh_token", "refresh_token": first},
                   auth=web_app.basic).get_json()["refresh_token"]
    with app.app_context():
        private = services.keyring.active_key().private
        pem_body = b"".join(private.as_pem(private=True).splitlines()[1:-1]).decode()
        private_d = private.as_dict(private=True)["d"]
    dump = _every_cell(app)
    assert web_app.client_secret and web_app.client_secret not in dump
    for secret in ("correct horse battery", first, second, pem_body[:40], private_d,
                   base64.b64encode(base64.urlsafe_b64decode(private_d + "==")).decode()[:40]):
        assert secret not in dump
    assert "$argon2id$" in dump  # the password is there, as a hash


def test_no_totp_secret_recovery_code_or_mfa_token_is_stored_in_plain_text(
    app: Flask, client: FlaskClient, user: Any, web_app: RegisteredClient,
) -> None:
    enrolled = enroll(client, web_app)
    ticket = mfa_token(client, web_app)
    key = base64.b32decode(enrolled.device.secret)
    dump = _every_cell(app)
    raw_redis = _every_redis_value(app)
    for secret in (enrolled.device.secret, enrolled.device.secret.lower(), key.hex(),
                   key.decode("latin-1"), ticket, *enrolled.recovery_codes,
                   *(code.replace("-", "") for code in enrolled.recovery_codes)):
        assert secret not in dump
        assert secret not in raw_redis


def _every_redis_value(app: Flask) -> str:
    """Every key and value under this app's prefix, as someone with a Redis dump would see."""
    with app.app_context():
        settings = services.settings
    raw = redis.Redis.from_url(settings.redis_url)
    parts = []
    for name in raw.scan_iter(match=f"{settings.redis_prefix}:*"):
        parts.append(name.decode("latin-1"))
        if raw.type(name) == b"string":
            parts.append((raw.get(name) or b"").decode("latin-1"))
    return "\n".join(parts)


def test_no_phone_number_sms_code_or_oob_code_is_stored_in_plain_text(
    app: Flask, client: FlaskClient, user: Any, web_app: RegisteredClient, outbox: Outbox,
) -> None:
    with app.app_context():
        services.flows.security_settings.top_up(5)
    bearer_token = access_token(client, web_app)
    enrolled = client.post("/mfa/associate", headers=bearer(bearer_token),
                           json={"type": "sms", "phone_number": "+14155552671"})
    assert enrolled.status_code == 200
    ticket = mfa_token(client, web_app)
    oob_code = client.post("/mfa/challenge", auth=web_app.basic, data={
        "mfa_token": ticket, "challenge_type": "sms"}).get_json()["oob_code"]
    code = outbox.last_code()
    dump, raw_redis = _every_cell(app), _every_redis_value(app)
    for secret in ("+14155552671", "4155552671", oob_code, ticket):
        assert secret not in dump
        assert secret not in raw_redis
    assert f'"{code}"' not in raw_redis and f":{code}" not in raw_redis
    assert "+1******2671" in dump  # the audit keeps the masked number only
