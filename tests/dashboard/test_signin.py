"""Administrators sign in with their password and their own second factor (an authenticator
app, added at the first sign-in, or a recovery code); sessions end on sign-out, on blocking,
and for a user who is no longer an administrator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver.extensions import db, services
from authserver.models import AuditEvent, User
from tests.conftest import RegisteredClient
from tests.dashboard.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Console

PAGES = ("/monitoring", "/security", "/applications", "/users")


def signed_out(console: Console) -> bool:
    """Every page sends this browser to the sign-in page."""
    answers = [console.get(path) for path in PAGES]
    return all(a.status_code == 302 and a.location.endswith("/dashboard/signin")
               for a in answers)


def test_first_sign_in_adds_an_app_then_shows_ten_recovery_codes(console: Console) -> None:
    assert console.recovery_codes is not None and len(set(console.recovery_codes)) == 10
    assert all(console.get(path).status_code == 200 for path in PAGES)


def test_the_next_sign_in_asks_for_the_app_code(app: Flask, console: Console) -> None:
    again = Console(app.test_client(), device=console.device)
    answer = again.password()
    assert answer.status_code == 302 and answer.location.endswith("/dashboard/signin/code")
    assert signed_out(again)  # the password alone opens nothing
    assert console.device is not None
    assert again.code(console.device.next_code()).status_code == 302
    assert again.get("/monitoring").status_code == 200


def test_a_wrong_code_is_refused_and_opens_nothing(app: Flask, console: Console) -> None:
    again = Console(app.test_client())
    again.password()
    refused = again.code("000000")
    assert refused.status_code == 400
    assert "The code is wrong" in refused.get_data(as_text=True)
    assert signed_out(again)


def test_too_many_wrong_codes_void_the_sign_in(app: Flask, console: Console) -> None:
    again = Console(app.test_client())
    again.password()
    answers = [again.code("000000") for _ in range(6)]
    assert [answer.status_code for answer in answers] == [400] * 5 + [429]
    assert "Retry-After" in answers[-1].headers
    assert console.device is not None
    assert again.code(console.device.next_code()).status_code == 429
    assert signed_out(again)


def test_a_recovery_code_signs_in_once(app: Flask, console: Console) -> None:
    assert console.recovery_codes
    first, second = Console(app.test_client()), Console(app.test_client())
    first.password()
    assert first.code(console.recovery_codes[0].lower()).status_code == 302
    second.password()
    assert second.code(console.recovery_codes[0]).status_code == 400
    assert signed_out(second)


def test_a_wrong_password_is_refused(app: Flask, console: Console) -> None:
    again = Console(app.test_client())
    refused = again.password(password="not the password at all")
    assert refused.status_code == 400
    assert "Wrong email or password." in refused.get_data(as_text=True)
    assert signed_out(again)


def test_a_user_who_is_not_an_administrator_cannot_sign_in(
    app: Flask, make_user: Callable[..., Any],
) -> None:
    make_user("user@example.org", "a user's own password")
    visitor = Console(app.test_client())
    refused = visitor.password("user@example.org", "a user's own password")
    assert refused.status_code == 403
    assert "may not sign in to the dashboard" in refused.get_data(as_text=True)
    assert visitor.get("/signin/code").location.endswith("/dashboard/signin")
    assert signed_out(visitor)


def test_sign_out_ends_the_session_on_the_server(app: Flask, console: Console) -> None:
    cookie = console.http.get_cookie("protekt-dashboard")
    assert cookie is not None
    assert console.post("/signout").status_code == 302
    assert signed_out(console)
    replayed = Console(app.test_client())
    replayed.http.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    assert signed_out(replayed)


def test_sign_out_is_audited(app: Flask, console: Console) -> None:
    assert console.post("/signout").status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.type == "dashboard.signed_out"))
        admin = services.users.find_by_email(ADMIN_EMAIL)
        assert event is not None and admin is not None and event.user_id == admin.id


def test_an_administrator_demoted_or_blocked_loses_the_session(
    app: Flask, console: Console,
) -> None:
    with app.app_context():
        admin = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        admin.is_admin = False
        db.session.commit()
    assert signed_out(console)


def test_blocking_an_administrator_ends_their_session(app: Flask, console: Console) -> None:
    with app.app_context():
        admin = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        services.administration.block(admin.id)
    assert signed_out(console)


def test_the_store_keeps_only_a_digest_of_the_session_id(
    console: Console, redis_url: str, redis_prefix: str,
) -> None:
    cookie = console.http.get_cookie("protekt-dashboard")
    assert cookie is not None
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).scan_iter(
        match=f"{redis_prefix}:dashboard-session*")]
    assert len(keys) == 2  # the session and its "seen" mark
    with console.http.session_transaction() as session:
        assert not [key for key in keys if session["sid"] in key]


def test_an_mfa_reset_or_a_new_password_ends_the_administrators_sessions(
    app: Flask, console: Console, make_admin_user: Callable[..., str],
) -> None:
    """Whoever resets an administrator (another one, after a stolen phone) ends the sessions
    the old factor opened; so does a new password."""
    with app.app_context():
        admin_id = db.session.query(User).filter_by(email=ADMIN_EMAIL).one().id
        services.administration.reset_mfa(admin_id)
    assert signed_out(console)
    other = Console(app.test_client())
    make_admin_user("second@example.org")
    other.password("second@example.org")
    other.enroll()
    with app.app_context():
        services.administration.update(
            db.session.query(User).filter_by(email="second@example.org").one().id,
            password="a brand new password")
    assert signed_out(other)


def test_an_administrator_with_any_factor_is_never_offered_enrollment(
    app: Flask, make_admin_user: Callable[..., str], client: FlaskClient,
    web_app: RegisteredClient,
) -> None:
    """An administrator with any second factor (here only recovery codes; a phone enrolled as
    a user does the same) is asked for a code after the password: the password alone never
    adds an app in their place."""
    make_admin_user()
    with app.app_context():
        admin = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        services.mfa.recovery_codes.replace_set(admin.id)
        db.session.commit()
    attacker = Console(app.test_client())
    answer = attacker.password()
    assert answer.location.endswith("/dashboard/signin/code")
    refused = attacker.get("/signin/enroll")
    assert refused.status_code == 400
    assert "already has a second factor" in refused.get_data(as_text=True)
    assert signed_out(attacker)


def test_the_admins_app_stays_when_mfa_is_switched_off_for_users(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient,
) -> None:
    """MFA off: the administrator's password logs in to apps, but its token cannot remove the
    factor that guards the console."""
    with app.app_context():
        services.flows.security_settings.update(enabled=False)
    login = client.post("/oauth/token", auth=web_app.basic, data={
        "grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
        "scope": "openid read:authenticators remove:authenticators"})
    assert login.status_code == 200, login.get_json()
    access = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    factors = client.get("/mfa/authenticators", headers=access).get_json()
    app_id = next(item["id"] for item in factors if item["authenticator_type"] == "otp")
    refused = client.delete(f"/mfa/authenticators/{app_id}", headers=access)
    assert refused.status_code == 403 and refused.get_json()["error"] == "access_denied"
    again = Console(app.test_client())
    assert again.password().location.endswith("/dashboard/signin/code")


def test_an_administrators_factors_never_change_through_the_mfa_endpoints(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient,
) -> None:
    """Not with a password-only token, not after an MFA login (which SMS alone can give):
    the console's factors change only in the dashboard."""
    assert console.device is not None
    login = client.post("/oauth/token", auth=web_app.basic, data={
        "grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
        "scope": "openid enroll read:authenticators remove:authenticators"})
    access = client.post("/oauth/token", auth=web_app.basic, data={
        "grant_type": "http://protekt.dev/oauth/grant-type/mfa-otp", "otp":
        console.device.next_code(), "mfa_token": login.get_json()["mfa_token"]})
    headers = {"Authorization": f"Bearer {access.get_json()['access_token']}"}
    assert client.get("/mfa/authenticators", headers=headers).status_code == 200
    for answer in (client.post("/mfa/associate", json={"type": "otp"}, headers=headers),
                   client.post("/mfa/recovery-codes", headers=headers),
                   client.delete("/mfa/authenticators/any", headers=headers)):
        assert answer.status_code == 403, answer.get_json()
        assert answer.get_json()["error"] == "access_denied"


def test_a_block_ends_the_session_even_if_lifted_before_its_next_request(
    app: Flask, console: Console,
) -> None:
    with app.app_context():
        admin_id = db.session.query(User).filter_by(email=ADMIN_EMAIL).one().id
        services.administration.block(admin_id)
        services.administration.unblock(admin_id)
    assert signed_out(console)


def test_the_dashboards_mfa_token_opens_nothing_at_the_mfa_endpoints(
    app: Flask, make_admin_user: Callable[..., str], client: FlaskClient,
) -> None:
    make_admin_user()
    visitor = Console(app.test_client())
    visitor.password()
    with visitor.http.session_transaction() as session:
        ticket = session["signin"]
    answer = client.post("/mfa/associate", json={"type": "otp"},
                         headers={"Authorization": f"Bearer {ticket}"})
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_token"
