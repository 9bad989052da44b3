"""A user's page: the profile claims shown and edited (a wrong value explained, what was typed
kept, nothing saved), and the user's consents listed with a revoke button."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask

from authserver.extensions import db, services
from authserver.models import User
from tests.accounts.test_profile import ANN
from tests.conftest import RegisteredClient
from tests.dashboard.conftest import Console, csrf_of
from tests.dashboard.test_user_pages import user_id

INPUT = re.compile(r'<input id="(\w+)" name="\1"[^>]*value="([^"]*)"')


def fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in INPUT.findall(page)
            if name in ANN}


def stored(app: Flask, user_id: str) -> User:
    with app.app_context():
        user = db.session.get_one(User, user_id)
        db.session.expunge(user)
        return user


def test_the_profile_is_edited_and_shown(app: Flask, console: Console, user: Any) -> None:
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert fields(page) == dict.fromkeys(ANN, "") and "Profile updated</dt><dd" in page
    assert console.post(f"/users/{user.id}/profile", ANN).status_code == 302
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert "Profile saved." in page and fields(page) == ANN
    kept = stored(app, user.id)
    assert {name: getattr(kept, name) for name in ANN} == ANN and kept.updated_at is not None
    console.post(f"/users/{user.id}/profile", {**ANN, "picture": "", "locale": ""})
    kept = stored(app, user.id)
    assert (kept.picture, kept.locale, kept.name) == (None, None, "Ann Lee")  # empty clears


def test_a_bad_value_is_explained_kept_and_nothing_is_saved(app: Flask, console: Console,
                                                            user: Any) -> None:
    typed = {**ANN, "picture": "http://example.com/ann.png"}
    answer = console.post(f"/users/{user.id}/profile", typed)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "picture must be an https URL" in page and fields(page) == typed
    answer = console.post(f"/users/{user.id}/profile", {**ANN, "locale": "Portuguese"})
    assert "locale must be a language tag" in answer.get_data(as_text=True)
    kept = stored(app, user.id)
    assert (kept.name, kept.updated_at) == (None, None)


def test_an_administrator_may_edit_their_own_profile(app: Flask, console: Console) -> None:
    me = user_id(app, "admin@example.org")
    assert console.post(f"/users/{me}/profile", {"name": "Root"}).status_code == 302
    assert stored(app, me).name == "Root"


def give_consent(app: Flask, user_id: str, client_id: str) -> None:
    with app.app_context():
        services.consents.grant(user_id, client_id, ("openid", "profile"))
        db.session.commit()


def test_consents_are_listed_and_revoked(app: Flask, console: Console, user: Any,
                                         web_app: RegisteredClient) -> None:
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert "No consents" in page
    give_consent(app, user.id, web_app.client_id)
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    consents = page.split('<table id="consents">')[1].split("</table>")[0]
    assert "<td>Web app</td>" in consents and "openid profile" in consents
    revoke = f"/dashboard/users/{user.id}/consents/{web_app.client_id}/revoke"
    assert f'action="{revoke}"' in consents and 'name="csrf_token"' in consents
    answer = console.post(revoke.removeprefix("/dashboard"))
    assert answer.status_code == 302
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert "Consent revoked" in page and "No consents" in page
    with app.app_context():
        assert services.consents.granted(user.id, web_app.client_id) == frozenset()
    again = console.post(revoke.removeprefix("/dashboard"))
    assert again.status_code == 404
    assert "The user has given this client no consent." in again.get_data(as_text=True)


def test_revoking_needs_the_csrf_token(app: Flask, console: Console, user: Any,
                                       web_app: RegisteredClient) -> None:
    give_consent(app, user.id, web_app.client_id)
    path = f"/dashboard/users/{user.id}/consents/{web_app.client_id}/revoke"
    for data in ({}, {"csrf_token": "forged"}):
        assert console.http.post(path, data=data).status_code == 400
    assert console.http.post(path, data={"csrf_token": csrf_of(console.get("/users"))},
                             headers={"Origin": "https://evil.example"}).status_code == 400
    with app.app_context():
        assert services.consents.granted(user.id, web_app.client_id)


def test_unknown_users_are_404_pages(console: Console) -> None:
    for answer in (console.post("/users/nobody/profile", {"name": "X"}),
                   console.post("/users/nobody/consents/nothing/revoke")):
        assert answer.status_code == 404
        assert "No user has this id." in answer.get_data(as_text=True)


def test_the_page_carries_no_inline_script_or_style(app: Flask, console: Console, user: Any,
                                                    web_app: RegisteredClient) -> None:
    give_consent(app, user.id, web_app.client_id)
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son\w+=", page)
