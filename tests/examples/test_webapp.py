"""The example web app's server-side sessions (examples/webapp), without a Protekt server.

The store keeps sessions in order of last use, caps them and forgets idle ones; the app stores a
session only when a request puts something in it. The app's Protekt is a closed port here: no
test reaches it except the one that checks a form's CSRF token is accepted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.examples import webapp_module
from tests.support import free_port

webapp_app = webapp_module("app")
session_store = webapp_module("session_store")
user_session = webapp_module("user_session")
COOKIE = "webapp_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app() -> Flask:
    """The web app, its Protekt on a port where nothing listens."""
    settings = webapp_app.Settings(f"http://127.0.0.1:{free_port()}", "client", "secret",
                                   "k" * 32)
    return webapp_app.create_app(settings)


def sessions(app: Flask) -> Any:
    """The app's session store."""
    return app.extensions[user_session.EXTENSION].sessions


def stored(store: Any, count: int) -> list[Any]:
    """``count`` sessions saved one after the other (each holding a value)."""
    made = []
    for number in range(count):
        session = store.open(None)
        session.state["n"] = number
        store.save(session)
        made.append(session)
    return made


def test_a_new_session_is_not_stored_until_saved() -> None:
    store = session_store.SessionStore()
    session = store.open(None)
    assert session.id is None and len(store) == 0
    store.save(session)
    assert session.id is not None and len(store) == 1
    assert store.open(session.id) is session
    assert store.open("made-up").id is None
    assert len(store) == 1


def test_the_store_is_capped_and_forgets_the_least_recently_used() -> None:
    store = session_store.SessionStore(max_sessions=3)
    first, second, third = stored(store, 3)
    assert store.open(first.id) is first  # first is now the most recently used
    (fourth,) = stored(store, 1)
    assert len(store) == 3
    assert store.open(second.id).id is None  # evicted
    for kept in (first, third, fourth):
        assert store.open(kept.id) is kept


def test_the_default_cap_is_ten_thousand_sessions() -> None:
    store = session_store.SessionStore()
    made = stored(store, 10_001)
    assert len(store) == 10_000
    assert store.open(made[0].id).id is None
    assert store.open(made[-1].id) is made[-1]


def test_sessions_expire_after_the_idle_timeout_since_their_last_use() -> None:
    clock = Clock()
    store = session_store.SessionStore(idle_timeout=100.0, clock=clock)
    used, idle = stored(store, 2)
    clock.now += 60
    assert store.open(used.id) is used  # used again at 60 s: its timeout starts again
    clock.now += 60  # idle was last used 120 s ago, used 60 s ago
    assert store.open(idle.id).id is None
    assert len(store) == 1
    clock.now += 101
    store.open(None)  # any request forgets the sessions idle too long
    assert len(store) == 0


def test_rotation_keeps_the_state_under_a_new_id_only() -> None:
    store = session_store.SessionStore()
    (session,) = stored(store, 1)
    old_id = session.id
    store.rotate(session)
    assert session.id != old_id
    assert store.open(old_id).id is None
    assert store.open(session.id) is session
    assert len(store) == 1


@pytest.mark.parametrize("path", ["/no-such-page", "/", "/security", "/mfa",
                                  "/static/style.css"])
def test_a_cookieless_get_that_stores_nothing_creates_no_session(app: Flask, path: str) -> None:
    client = app.test_client()
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    assert len(sessions(app)) == 0
    assert "Set-Cookie" not in response.headers


def test_a_cookieless_post_is_refused_and_creates_no_session(app: Flask) -> None:
    response = app.test_client().post("/login", data={"csrf_token": "", "email": "a@b.c"})
    assert response.status_code == 400
    assert "The form has expired" in response.text
    assert len(sessions(app)) == 0


def test_a_form_page_stores_one_session_for_its_csrf_token(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    assert len(sessions(app)) == 1
    assert client.get_cookie(COOKIE) is not None
    assert csrf_token(client) == token  # the same session on the next page
    assert len(sessions(app)) == 1


def test_a_form_with_the_session_csrf_token_is_accepted(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": "a@b.c",
                                           "password": "pw"})
    assert response.status_code == 400  # refused by the closed port, not for its CSRF token
    assert "Protekt did not answer" in response.text


def test_a_cookie_naming_a_forgotten_session_is_cleared(app: Flask) -> None:
    client = app.test_client()
    csrf_token(client)
    sessions(app).rotate(cookie_session(app, client))  # the cookie's id is no longer stored
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert client.get_cookie(COOKIE) is None
    assert len(sessions(app)) == 1  # only the rotated one, nothing new


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the sign-in form."""
    match = CSRF.search(client.get("/login").text)
    assert match is not None
    return match.group(1)


def cookie_session(app: Flask, client: FlaskClient) -> Any:
    """The stored session the client's cookie names."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    session = sessions(app).open(serializer.loads(cookie.value)["sid"])
    assert session.id is not None
    return session
