"""The example web app (examples/webapp) with Flask's test client, without a Protekt server.

The session store keeps sessions in order of last use, caps them and forgets idle ones; the app
stores a session only when a request puts something in it. The sign-in by redirect runs against
a scripted Protekt on loopback (discovery, JWKS, token and revocation endpoints, /mfa): what
``/login`` sends to the authorization endpoint, what ``/callback`` accepts and refuses, the
step-up, and sign-out through Protekt's logout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.examples import webapp_module
from tests.standin import StandIn
from tests.support import free_port

webapp_app = webapp_module("app")
session_store = webapp_module("session_store")
signin = webapp_module("signin")
user_session = webapp_module("user_session")
COOKIE = "webapp_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CLIENT_ID = "webapp"
APP_URL = "http://localhost"  # where Flask's test client sends its requests
CALLBACK = f"{APP_URL}/callback"
MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PASSWORD_ACR = "urn:protekt:acr:password"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeProtekt(StandIn):
    """Protekt on loopback as far as the app sees it. The token endpoint answers the code grant
    with an ID token for ``nonce`` (set by the test from the authorization URL) and ``amr``;
    ``/mfa/associate`` answers ``associate``. ``posted(path)``: the forms posted to ``path``."""

    def __init__(self) -> None:
        super().__init__(CLIENT_ID)
        self.amr = ["pwd"]
        self.associate: tuple[int, dict[str, Any]] = (
            403, {"error": "mfa_required", "error_description": "A second factor is needed."})
        self.metadata = {"mfa_associate_endpoint": f"{self.url}/mfa/associate",
                         "mfa_authenticators_endpoint": f"{self.url}/mfa/authenticators"}
        self.routes = {"GET /mfa/authenticators": lambda: (200, []),
                       "POST /mfa/associate": lambda: self.associate}

    def tokens(self, **claims: Any) -> dict[str, Any]:
        return super().tokens(email="ann@example.org", amr=self.amr,
                              acr=MULTI_FACTOR if "mfa" in self.amr else PASSWORD_ACR, **claims)


@pytest.fixture
def fake() -> Iterator[FakeProtekt]:
    with FakeProtekt() as fake:
        yield fake


@pytest.fixture
def app(fake: FakeProtekt) -> Flask:
    """The web app on the scripted Protekt."""
    return webapp_app.create_app(webapp_app.Settings(fake.url, CLIENT_ID, "secret", "k" * 32,
                                                     APP_URL))


@pytest.fixture
def offline_app() -> Flask:
    """The web app, its Protekt on a port where nothing listens."""
    return webapp_app.create_app(webapp_app.Settings(
        f"http://127.0.0.1:{free_port()}", CLIENT_ID, "secret", "k" * 32, APP_URL))


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


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def start(client: FlaskClient, fake: FakeProtekt) -> dict[str, str]:
    """``/login``: the authorization request's parameters; the fake learns its nonce."""
    response = client.get("/login")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"{fake.url}/authorize?")
    params = query(location)
    fake.nonce = params["nonce"]
    return params


def callback(client: FlaskClient, params: dict[str, str], **answer: str) -> Any:
    """Protekt sending the browser back to ``/callback`` for the request ``params``."""
    sent = {"code": "code-1", "state": params["state"], "iss": answer.pop("iss", None), **answer}
    return client.get("/callback?" + urlencode({k: v for k, v in sent.items() if v is not None}))


def sign_in(client: FlaskClient, fake: FakeProtekt, *amr: str) -> Any:
    """A whole sign-in; the callback's answer."""
    fake.amr = list(amr or ("pwd",))
    params = start(client, fake)
    return callback(client, params, iss=fake.url)


def csrf_token(client: FlaskClient, path: str = "/security") -> str:
    """The CSRF token of a signed-in page's forms."""
    match = CSRF.search(client.get(path).text)
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


# the session store ----------------------------------------------------------------------------

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


# sessions the app stores ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/no-such-page", "/", "/security", "/callback",
                                  "/callback?state=made-up&code=c", "/static/style.css"])
def test_a_cookieless_get_that_stores_nothing_creates_no_session(offline_app: Flask,
                                                                path: str) -> None:
    client = offline_app.test_client()
    response = client.get(path)
    assert response.status_code in (200, 302, 400, 404)
    assert len(sessions(offline_app)) == 0
    assert "Set-Cookie" not in response.headers


def test_the_start_page_signed_out_offers_the_sign_in(offline_app: Flask) -> None:
    page = offline_app.test_client().get("/")
    assert page.status_code == 200
    assert '<a class="button" href="/login">Sign in</a>' in page.text


@pytest.mark.parametrize("path", ["/logout", "/security/app", "/security/recovery-codes"])
def test_a_cookieless_post_is_refused_and_creates_no_session(offline_app: Flask,
                                                            path: str) -> None:
    response = offline_app.test_client().post(path, data={"csrf_token": ""})
    assert response.status_code == 400
    assert "The form has expired" in response.text
    assert len(sessions(offline_app)) == 0


def test_a_sign_in_while_protekt_does_not_answer_is_a_page_saying_so(offline_app: Flask) -> None:
    response = offline_app.test_client().get("/login")
    assert response.status_code == 502
    assert "Protekt did not answer" in response.text


def test_a_form_with_the_session_csrf_token_is_accepted_and_another_is_not(
        app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    sign_in(client, fake)
    token = csrf_token(client)
    forged = client.post("/security/recovery-codes/saved", data={"csrf_token": "x" + token})
    assert forged.status_code == 400
    accepted = client.post("/security/recovery-codes/saved", data={"csrf_token": token})
    assert (accepted.status_code, accepted.headers["Location"]) == (302, "/security")


def test_a_cookie_naming_a_forgotten_session_is_cleared(app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    start(client, fake)  # the sign-in in progress is stored
    sessions(app).rotate(cookie_session(app, client))  # the cookie's id is no longer stored
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert client.get_cookie(COOKIE) is None
    assert len(sessions(app)) == 1  # only the rotated one, nothing new


# sign-in by redirect -------------------------------------------------------------------------

def test_login_sends_the_browser_to_protekt_with_pkce_state_and_the_app_scope(
        app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    params = start(client, fake)
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert params["scope"] == ("openid profile email offline_access enroll read:authenticators "
                               "remove:authenticators")
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["state"] and params["nonce"]
    assert "acr_values" not in params and "prompt" not in params
    (pending,) = cookie_session(app, client).state["sign_ins"]
    assert pending["state"] == params["state"]  # kept server-side, not in the cookie
    assert params["state"] not in client.get_cookie(COOKIE).value


def test_the_callback_exchanges_the_code_and_shows_who_signed_in_and_how(
        app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    params = start(client, fake)
    before = cookie_session(app, client).id
    signed_in = callback(client, params, iss=fake.url)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/")
    (exchange,) = fake.posted("/oauth/token")
    assert exchange["grant_type"] == "authorization_code" and exchange["code"] == "code-1"
    assert exchange["redirect_uri"] == CALLBACK and exchange["code_verifier"]
    assert cookie_session(app, client).id != before  # a new session id at sign-in
    home = client.get("/").text
    assert '<strong id="who">ann@example.org</strong>' in home
    assert '<code id="amr">pwd</code>' in home
    assert f'<code id="acr">{PASSWORD_ACR}</code> (password only)' in home
    again = callback(client, params, iss=fake.url)  # each sign-in is finished once
    assert again.status_code == 400 and "already finished" in again.text
    assert len(fake.posted("/oauth/token")) == 1


@pytest.mark.parametrize("answer", [{"state": "made-up"}, {"iss": "https://elsewhere.example"}])
def test_a_callback_with_another_state_or_issuer_is_refused_without_an_exchange(
        app: Flask, fake: FakeProtekt, answer: dict[str, str]) -> None:
    client = app.test_client()
    params = start(client, fake)
    refused = callback(client, params, **answer)
    assert refused.status_code == 400
    assert fake.posted("/oauth/token") == []
    assert client.get("/").text.count('href="/login">Sign in</a>') == 1  # still signed out


def test_a_refused_sign_in_comes_back_with_protekts_reason(app: Flask,
                                                            fake: FakeProtekt) -> None:
    client = app.test_client()
    params = start(client, fake)
    back = callback(client, params, code=None, error="access_denied",
                    error_description="The user did not allow the application.")
    assert back.headers["Location"] == "/"
    start_page = client.get("/").text
    assert "The sign-in did not complete: The user did not allow the application." in start_page
    assert fake.posted("/oauth/token") == []


def test_a_sign_in_while_protekts_keys_cannot_be_fetched_is_answered_503(
        app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    fake.jwks_status = 503
    refused = sign_in(client, fake)
    assert refused.status_code == 503
    assert "Protekt is unavailable, try again in a moment." in refused.text
    assert '<a class="button" href="/login">Sign in again</a>' in refused.text
    assert client.get("/security").headers["Location"] == "/login"  # not signed in


def test_sign_out_forgets_the_user_and_ends_the_sign_in_at_protekt(app: Flask,
                                                                   fake: FakeProtekt) -> None:
    client = app.test_client()
    sign_in(client, fake)
    id_token = cookie_session(app, client).state["id_token"]
    out = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert out.status_code == 303
    location = out.headers["Location"]
    assert location.startswith(f"{fake.url}/logout?")
    assert query(location) == {"id_token_hint": id_token, "client_id": CLIENT_ID,
                               "post_logout_redirect_uri": f"{APP_URL}/"}
    (revoked,) = fake.posted("/oauth/revoke")
    assert (revoked["token"], revoked["token_type_hint"]) == ("rt-1", "refresh_token")
    back = client.get("/")  # Protekt's logout sends the browser back here
    assert "You are signed out." in back.text and 'id="who"' not in back.text
    assert client.get("/security").headers["Location"] == "/login"


def test_mfa_required_signs_in_again_asking_for_a_second_factor(app: Flask,
                                                                 fake: FakeProtekt) -> None:
    client = app.test_client()
    sign_in(client, fake, "pwd")
    step_up = client.post("/security/phone", data={"csrf_token": csrf_token(client),
                                                   "phone_number": "+16505550123"})
    assert step_up.status_code == 303
    params = query(step_up.headers["Location"])
    assert params["acr_values"] == MULTI_FACTOR and "prompt" not in params
    fake.nonce, fake.amr = params["nonce"], ["pwd", "otp", "mfa"]
    back = callback(client, params, iss=fake.url)
    assert back.headers["Location"] == "/security"
    assert "Second factor confirmed" in client.get("/security").text
    assert [form["token"] for form in fake.posted("/oauth/revoke")] == ["rt-1"]  # replaced
    assert f'<code id="acr">{MULTI_FACTOR}</code> (multi-factor)' in client.get("/").text


def test_mfa_required_of_a_session_with_a_second_factor_is_shown_not_looped(
        app: Flask, fake: FakeProtekt) -> None:
    client = app.test_client()
    sign_in(client, fake, "pwd", "otp", "mfa")
    refused = client.post("/security/app", data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 403
    assert "this session already has one" in refused.text


def test_settings_read_the_port_and_the_apps_own_address() -> None:
    env = {"PROTEKT_DOMAIN": "http://127.0.0.1:8000", "PROTEKT_CLIENT_ID": "c",
           "WEBAPP_SECRET_KEY": "k" * 32}
    assert webapp_app.settings_from_env(env).url == "http://127.0.0.1:5000"
    assert webapp_app.settings_from_env({**env, "PORT": "5001"}).url == "http://127.0.0.1:5001"
    chosen = webapp_app.settings_from_env({**env, "WEBAPP_URL": "https://app.example.com/"})
    assert chosen.url == "https://app.example.com"
    with pytest.raises(SystemExit):
        webapp_app.settings_from_env({**env, "WEBAPP_SECRET_KEY": ""})
