"""The database never holds a password, client secret, refresh token or private key in the clear.

The test reads every row of every table, as someone with a copy of the database would.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from authserver.models import Base
from tests.conftest import RegisteredClient, password_login, token


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
