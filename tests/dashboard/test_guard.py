"""Every dashboard page is behind the sign-in, every form behind its CSRF token, and every
answer carries the security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from authserver.extensions import services
from authserver.models import Client
from tests.dashboard.conftest import Console
from tests.support import TEST_ENCRYPTION_KEY, free_port

PUBLIC = {"dashboard.signin", "dashboard.signin_code", "dashboard.signin_enroll",
          "dashboard.signin_passkey_options", "dashboard.signin_new_passkey",
          "dashboard.signin_passkey", "dashboard.static"}
PASSKEY_STEPS = ("/signin/passkey/options", "/signin/passkey/new", "/signin/passkey")


def routes(app: Flask, method: str) -> Iterator[str]:
    """Every dashboard path answering ``method``, with placeholder ids."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("dashboard.") and rule.endpoint not in PUBLIC \
                and method in (rule.methods or ()):
            yield re.sub(r"<[^>]+>", "some-id", rule.rule).removeprefix("/dashboard")


def test_the_dashboard_has_the_pages_it_should(app: Flask) -> None:
    assert {"/", "/monitoring", "/security", "/applications", "/users"} <= set(routes(app, "GET"))
    assert len(list(routes(app, "POST"))) >= 10


def test_no_page_opens_without_signing_in(app: Flask) -> None:
    visitor = Console(app.test_client())
    for path in routes(app, "GET"):
        answer = visitor.get(path)
        assert answer.status_code == 302 and answer.location == "/dashboard/signin", path


def test_the_passkey_steps_open_nothing_without_a_sign_in_in_progress(app: Flask) -> None:
    visitor = Console(app.test_client())
    visitor.refresh_csrf()
    for path in PASSKEY_STEPS:
        answer = visitor.post(path, {"kind": "webauthn-roaming", "credential": "{}"})
        assert answer.status_code == 302 and answer.location == "/dashboard/signin", path


def test_no_form_is_accepted_without_signing_in(app: Flask) -> None:
    visitor = Console(app.test_client())
    visitor.refresh_csrf()  # a real token of a session that is not signed in
    for path in routes(app, "POST"):
        answer = visitor.post(path)
        assert answer.status_code == 302 and answer.location == "/dashboard/signin", path


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_its_csrf_token_is_refused(app: Flask, console: Console,
                                                  token: str | None) -> None:
    with app.app_context():
        before = services.mfa.settings.load()
    for path in routes(app, "POST"):
        data = {} if token is None else {"csrf_token": token}
        answer = console.http.post(f"/dashboard{path}", data={
            **data, "enabled": "", "factors": "otp", "policy": "required", "add": "5",
            "name": "Sneaky", "email": "x@example.org", "password": "long enough password"})
        assert answer.status_code == 400, path
        assert "did not come from this site" in answer.get_data(as_text=True)
    with app.app_context():
        assert services.mfa.settings.load() == before
        assert services.mfa.sms_credits.balance() == 0
        assert services.session.query(Client).count() == 0
        assert services.users.find_by_email("x@example.org") is None
    assert console.get("/security").status_code == 200  # still signed in


def test_a_form_from_another_origin_is_refused(console: Console) -> None:
    answer = console.post("/security/credits", {"add": "5"},
                          headers={"Origin": "https://evil.example"})
    assert answer.status_code == 400
    assert console.post("/security/credits", {"add": "5"},
                        headers={"Origin": "http://localhost"}).status_code == 302


def test_the_sign_in_form_needs_its_csrf_token_too(app: Flask,
                                                   make_admin_user: object) -> None:
    visitor = Console(app.test_client())
    answer = visitor.http.post("/dashboard/signin", data={"email": "a@b.c", "password": "x"})
    assert answer.status_code == 400


def test_pages_carry_the_security_headers(app: Flask, console: Console) -> None:
    for answer in (console.get("/security"), Console(app.test_client()).get("/signin"),
                   console.get("/users/unknown")):
        csp = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "same-origin"


def test_an_unknown_id_is_a_404_page_not_json(console: Console) -> None:
    answer = console.get("/users/unknown")
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    assert "No user has this id." in answer.get_data(as_text=True)


def test_an_unknown_address_is_a_404_page_behind_the_guard(app: Flask, console: Console) -> None:
    answer = console.get("/no/such/page")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "There is no such page in the dashboard." in answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    visitor = Console(app.test_client()).get("/no/such/page")
    assert visitor.status_code == 302 and visitor.location == "/dashboard/signin"


def test_without_redis_the_dashboard_fails_closed_with_a_503_page(
    make_app, console: Console,  # type: ignore[no-untyped-def]
) -> None:
    """Sessions and sign-in limits live in Redis: without it nothing opens, and it says so."""
    cut_off = make_app(PROTEKT_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    cookie = console.http.get_cookie("protekt-dashboard")
    assert cookie is not None
    cut_off.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    stranger = Console(cut_off)
    stranger.refresh_csrf()
    for answer in (cut_off.get("/dashboard/security"),
                   stranger.post("/signin", {"email": "admin@example.org",
                                             "password": "admin password for tests"})):
        assert answer.status_code == 503 and answer.mimetype == "text/html"
        assert "Retry-After" in answer.headers
        assert "Temporarily unavailable" in answer.get_data(as_text=True)


def test_the_session_cookie_is_http_only_and_same_site_strict(app: Flask) -> None:
    answer = Console(app.test_client()).get("/signin")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("protekt-dashboard=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_behind_https_the_cookie_is_secure_with_the_host_prefix(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(PROTEKT_ISSUER="https://auth.example.com",
                   PROTEKT_ENCRYPTION_KEY=TEST_ENCRYPTION_KEY)
    answer = app.test_client().get("/dashboard/signin", base_url="https://auth.example.com")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-protekt-dashboard=")
    assert "Secure" in cookie and "Domain" not in cookie
