"""Applications' browser sign-in settings in the dashboard: redirect URIs and sign-out URIs (one
per line) and the third-party box, at creation and on the application's page; a wrong URI is
explained, what was typed is kept, and nothing is saved."""

from __future__ import annotations

import html
import re

from flask import Flask

from authserver.clients import AUTHORIZATION_CODE, DEFAULT_GRANT_TYPES
from authserver.extensions import services
from authserver.models import Client
from tests.dashboard.conftest import Console
from tests.dashboard.test_application_pages import created

URIS = "https://shop.example/cb\r\n\r\n  http://127.0.0.1:8080/cb \r\nhttps://shop.example/cb\r\n"
TEXTAREA = re.compile(r'<textarea id="(\w+)"[^>]*>([^<]*)</textarea>')


def textareas(page: str) -> dict[str, str]:
    return {name: html.unescape(text) for name, text in TEXTAREA.findall(page)}


def stored(app: Flask, client_id: str) -> Client:
    with app.app_context():
        return services.clients.get(client_id)


def test_an_application_is_created_with_its_uris_as_a_third_party(app: Flask,
                                                                   console: Console) -> None:
    shop = created(console, redirect_uris=URIS, post_logout_redirect_uris="https://shop.example/",
                   third_party="on")
    client = stored(app, shop.client_id)
    assert client.redirect_uris == ["https://shop.example/cb", "http://127.0.0.1:8080/cb"]
    assert client.post_logout_redirect_uris == ["https://shop.example/"]
    assert client.first_party is False
    page = console.get(f"/applications/{shop.client_id}").get_data(as_text=True)
    assert "third-party: users are asked for consent" in page
    assert "<code>http://127.0.0.1:8080/cb</code>" in page
    assert textareas(page) == {"redirect_uris": "https://shop.example/cb\nhttp://127.0.0.1:8080/cb",
                               "post_logout_redirect_uris": "https://shop.example/"}
    assert re.search(r'name="third_party" checked', page)


def test_an_application_without_uris_is_first_party(app: Flask, console: Console) -> None:
    shop = created(console)
    client = stored(app, shop.client_id)
    assert (client.redirect_uris, client.first_party) == ([], True)
    assert AUTHORIZATION_CODE in client.grant_types
    page = console.get(f"/applications/{shop.client_id}").get_data(as_text=True)
    assert "first-party: no consent asked" in page
    assert not re.search(r'name="third_party" checked', page)


def test_the_new_application_form_offers_the_sign_in_fields(console: Console) -> None:
    page = console.get("/applications").get_data(as_text=True)
    assert 'name="redirect_uris"' in page and 'name="post_logout_redirect_uris"' in page
    assert "Third-party (ask users for consent)" in page
    assert re.search(rf'value="{AUTHORIZATION_CODE}" checked', page)  # in the defaults


def test_a_bad_uri_at_creation_is_explained_kept_and_nothing_is_created(
    app: Flask, console: Console,
) -> None:
    typed = "https://shop.example/cb\nhttp://shop.example/cb"
    answer = console.post("/applications", {"name": "Shop", "redirect_uris": typed,
                                            "grant_types": list(DEFAULT_GRANT_TYPES),
                                            "third_party": "on"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "redirect_uris: http://shop.example/cb uses http" in html.unescape(page)
    assert textareas(page)["redirect_uris"] == typed
    assert re.search(r'name="third_party" checked', page)
    with app.app_context():
        assert services.session.query(Client).count() == 0


def test_the_sign_in_settings_are_changed_on_the_applications_page(app: Flask,
                                                                    console: Console) -> None:
    shop = created(console, redirect_uris="https://shop.example/old", third_party="on")
    answer = console.post(f"/applications/{shop.client_id}/sign-in", {
        "redirect_uris": "https://shop.example/new\ncom.example.shop:/cb",
        "post_logout_redirect_uris": "https://shop.example/bye"})  # the box left unticked
    assert answer.status_code == 302
    page = console.get(f"/applications/{shop.client_id}").get_data(as_text=True)
    assert "Sign-in settings saved" in page
    client = stored(app, shop.client_id)
    assert client.redirect_uris == ["https://shop.example/new", "com.example.shop:/cb"]
    assert (client.post_logout_redirect_uris, client.first_party) == (
        ["https://shop.example/bye"], True)
    console.post(f"/applications/{shop.client_id}/sign-in", {"redirect_uris": ""})
    assert stored(app, shop.client_id).redirect_uris == []


def test_a_bad_change_is_explained_kept_and_nothing_changes(app: Flask,
                                                            console: Console) -> None:
    shop = created(console, redirect_uris="https://shop.example/cb")
    typed = "https://shop.example/cb\njavascript:alert(1)"
    answer = console.post(f"/applications/{shop.client_id}/sign-in",
                          {"redirect_uris": typed, "third_party": "on"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "redirect_uris: javascript: URIs are never allowed." in page
    assert textareas(page)["redirect_uris"] == typed
    client = stored(app, shop.client_id)
    assert (client.redirect_uris, client.first_party) == (["https://shop.example/cb"], True)


def test_saving_grant_types_can_keep_the_authorization_code(app: Flask,
                                                            console: Console) -> None:
    shop = created(console)
    console.post(f"/applications/{shop.client_id}/grant-types",
                 {"grant_types": [AUTHORIZATION_CODE]})
    assert stored(app, shop.client_id).grant_types == [AUTHORIZATION_CODE]


def test_the_sign_in_form_needs_its_csrf_token(app: Flask, console: Console) -> None:
    shop = created(console)
    answer = console.http.post(f"/dashboard/applications/{shop.client_id}/sign-in",
                               data={"redirect_uris": "https://evil.example/cb"})
    assert answer.status_code == 400
    assert stored(app, shop.client_id).redirect_uris == []


def test_the_pages_carry_no_inline_script_or_style(console: Console) -> None:
    shop = created(console, redirect_uris="https://shop.example/cb")
    for path in ("/applications", f"/applications/{shop.client_id}"):
        page = console.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son\w+=", page), path
