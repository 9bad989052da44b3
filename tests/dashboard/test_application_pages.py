"""Applications: created with the secret shown once, usable at the token endpoint; grant types,
secret rotation and deletion take effect at the application's next request."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from authserver.clients import DEFAULT_GRANT_TYPES, PASSWORD, REFRESH_TOKEN
from authserver.extensions import services
from authserver.models import Client
from tests.conftest import RegisteredClient, assert_error, password_login
from tests.dashboard.conftest import Console

CLIENT_ID = re.compile(r'<code id="client-id">([^<]+)</code>')
SECRET = re.compile(r'<code id="client-secret">([^<]+)</code>')


def created(console: Console, name: str = "Shop", **form: Any) -> RegisteredClient:
    page = console.post("/applications", {"name": name, "grant_types": list(DEFAULT_GRANT_TYPES),
                                           **form})
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    secret = SECRET.search(text)
    if secret:
        assert "will not be shown again" in text and 'data-copy="client-secret"' in text
    return RegisteredClient(CLIENT_ID.search(text).group(1),  # type: ignore[union-attr]
                            secret.group(1) if secret else None)


def test_a_new_application_logs_users_in(console: Console, client: FlaskClient,
                                         user: Any) -> None:
    shop = created(console)
    assert password_login(client, shop).status_code == 200
    listing = console.get("/applications").get_data(as_text=True)
    assert "Shop" in listing and shop.client_id in listing
    assert shop.client_secret not in listing
    detail = console.get(f"/applications/{shop.client_id}").get_data(as_text=True)
    assert shop.client_secret not in detail


def test_the_grant_types_apply_from_the_next_request(console: Console, client: FlaskClient,
                                                     user: Any) -> None:
    shop = created(console)
    console.post(f"/applications/{shop.client_id}/grant-types", {"grant_types": [REFRESH_TOKEN]})
    assert_error(password_login(client, shop), "unauthorized_client", 400)
    console.post(f"/applications/{shop.client_id}/grant-types",
                 {"grant_types": [PASSWORD, REFRESH_TOKEN]})
    assert password_login(client, shop).status_code == 200


def test_an_unknown_grant_type_is_explained(app: Flask, console: Console) -> None:
    shop = created(console)
    console.post(f"/applications/{shop.client_id}/grant-types", {"grant_types": ["implicit"]})
    page = console.get(f"/applications/{shop.client_id}").get_data(as_text=True)
    assert "implicit" in page and 'class="flash error"' in page
    with app.app_context():
        assert services.clients.get(shop.client_id).grant_types == list(DEFAULT_GRANT_TYPES)


def test_rotating_the_secret_stops_the_old_one(console: Console, client: FlaskClient,
                                               user: Any) -> None:
    shop = created(console)
    page = console.post(f"/applications/{shop.client_id}/rotate-secret").get_data(as_text=True)
    new_secret = SECRET.search(page).group(1)  # type: ignore[union-attr]
    assert_error(password_login(client, shop), "invalid_client", 401)
    assert password_login(client, RegisteredClient(shop.client_id, new_secret)).status_code == 200


def test_a_public_application_has_no_secret_to_rotate(console: Console) -> None:
    spa = created(console, "SPA", public="on")
    assert spa.client_secret is None
    answer = console.post(f"/applications/{spa.client_id}/rotate-secret")
    assert answer.status_code == 400
    assert "A public client has no secret to rotate." in answer.get_data(as_text=True)


def test_a_deleted_application_can_no_longer_authenticate(console: Console, client: FlaskClient,
                                                          user: Any) -> None:
    shop = created(console)
    assert console.post(f"/applications/{shop.client_id}/delete").status_code == 302
    assert_error(password_login(client, shop), "invalid_client", 401)
    assert console.get(f"/applications/{shop.client_id}").status_code == 404


def test_a_nameless_application_is_explained_and_not_created(app: Flask,
                                                             console: Console) -> None:
    answer = console.post("/applications", {"name": "  ", "grant_types": [PASSWORD]})
    assert answer.status_code == 400
    assert "The client name must be 1 to 100 characters long." in answer.get_data(as_text=True)
    with app.app_context():
        assert services.session.query(Client).count() == 0
