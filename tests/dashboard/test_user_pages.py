"""Users: search, create, one user's factors and events, remove a factor, reset MFA (the user
then logs in with the password alone), block and unblock."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import services
from tests.api.test_passkeys import enroll_passkey
from tests.conftest import EnrolledUser, RegisteredClient, assert_error, password_login
from tests.dashboard.conftest import Console
from tests.softkey import SoftKey


def user_id(app: Flask, email: str = "ann@example.org") -> str:
    with app.app_context():
        found = services.users.find_by_email(email)
        assert found is not None
        return found.id


def test_search_finds_users_by_part_of_the_email(console: Console, make_user: Any) -> None:
    make_user("ann@example.org")
    make_user("bob@example.net")
    page = console.get("/users", query_string={"q": "EXAMPLE.NET"}).get_data(as_text=True)
    assert "bob@example.net" in page and "ann@example.org" not in page
    assert "1 user(s)" in page


def test_a_strange_page_number_shows_the_first_page(console: Console, make_user: Any) -> None:
    make_user("ann@example.org")
    for number in ("-1", "x", "9" * 5000):
        page = console.get("/users", query_string={"page": number})
        assert page.status_code == 200 and "ann@example.org" in page.get_data(as_text=True)


def test_an_administrator_creates_a_user(app: Flask, console: Console) -> None:
    answer = console.post("/users", {"email": "cy@example.org", "password": "a fine password"})
    assert answer.status_code == 302
    assert "Created cy@example.org." in console.get(answer.location.removeprefix(
        "/dashboard")).get_data(as_text=True)


def test_a_bad_new_user_is_explained_and_not_created(app: Flask, console: Console) -> None:
    answer = console.post("/users", {"email": "not-an-email", "password": "a fine password"})
    assert answer.status_code == 400
    assert "The email address is not valid." in answer.get_data(as_text=True)
    with app.app_context():
        assert services.users.find_by_email("not-an-email") is None


def test_the_user_page_lists_factors_and_recent_events(
    app: Flask, console: Console, mfa_user: EnrolledUser,
) -> None:
    page = console.get(f"/users/{user_id(app)}").get_data(as_text=True)
    assert mfa_user.authenticator_id in page
    assert "10 left" in page  # recovery codes
    assert "mfa.enrolled" in page and "login.success" in page
    events = page.split('<table class="events">')[1]
    assert "<td>Web app</td>" in events  # the application's name, not its client id


def test_reset_mfa_lets_the_user_log_in_with_the_password_alone(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient,
    mfa_user: EnrolledUser,
) -> None:
    assert password_login(client, web_app).status_code == 403
    answer = console.post(f"/users/{user_id(app)}/reset-mfa")
    assert answer.status_code == 302
    assert password_login(client, web_app).status_code == 200
    page = console.get(f"/users/{user_id(app)}").get_data(as_text=True)
    assert "Reset MFA: removed 1 authenticator(s)" in page
    factors = page.split('<table id="authenticators">')[1].split("</table>")[0]
    assert mfa_user.authenticator_id not in factors and "No second factor" in factors


def test_removing_a_factor(app: Flask, console: Console, client: FlaskClient,
                           web_app: RegisteredClient, mfa_user: EnrolledUser) -> None:
    ann = user_id(app)
    assert console.post(
        f"/users/{ann}/authenticators/{mfa_user.authenticator_id}/delete").status_code == 302
    assert password_login(client, web_app).status_code == 200
    assert console.post(f"/users/{ann}/authenticators/{mfa_user.authenticator_id}/delete"
                        ).status_code == 404


def test_a_blocked_user_cannot_log_in_until_unblocked(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    ann = user_id(app)
    console.post(f"/users/{ann}/block")
    assert "blocked since" in console.get(f"/users/{ann}").get_data(as_text=True)
    assert_error(password_login(client, web_app), "invalid_grant", 400)
    console.post(f"/users/{ann}/unblock")
    assert password_login(client, web_app).status_code == 200


def test_an_administrator_cannot_block_or_reset_themself(app: Flask, console: Console) -> None:
    me = user_id(app, "admin@example.org")
    page = console.get(f"/users/{me}").get_data(as_text=True)
    assert "another administrator can block it" in page and "Reset MFA</button>" not in page
    for action in ("block", "reset-mfa", "authenticators/any/delete"):
        answer = console.post(f"/users/{me}/{action}")
        assert answer.status_code == 403
        assert "Another administrator must do this" in answer.get_data(as_text=True)
    assert console.get("/security").status_code == 200  # still signed in, still protected


def test_unknown_users_are_404_pages(console: Console) -> None:
    for answer in (console.get("/users/nobody"), console.post("/users/nobody/reset-mfa"),
                   console.post("/users/nobody/block")):
        assert answer.status_code == 404
        assert "No user has this id." in answer.get_data(as_text=True)


def test_a_users_passkeys_show_their_model_and_backup_state_and_can_be_removed(
    app: Flask, console: Console, client: FlaskClient, web_app: RegisteredClient, user: Any,
) -> None:
    synced = SoftKey(rp_id="127.0.0.1", origin="http://127.0.0.1:8000", synced=True,
                     aaguid=bytes.fromhex("ea9b8d664d011d213ce4b6b48cb575d4"))
    passkey = enroll_passkey(client, web_app, synced)
    page = console.get(f"/users/{user_id(app)}").get_data(as_text=True)
    factors = page.split('<table id="authenticators">')[1].split("</table>")[0]
    assert "Passkey" in factors and "(Google Password Manager)" in factors
    assert "passkey" in factors and "(backed up)" in factors
    ann = user_id(app)
    assert console.post(f"/users/{ann}/authenticators/{passkey.id}/delete").status_code == 302
    assert password_login(client, web_app).status_code == 200  # no factor left


def test_a_users_remembered_browsers_are_listed_and_forgotten(
    app: Flask, console: Console, user: Any,
) -> None:
    with app.app_context():
        services.mfa.trusted_devices.trust(user.id, "Firefox on Linux", 30)
        services.session.commit()
    page = console.get(f"/users/{user.id}").get_data(as_text=True)
    assert "Firefox on Linux" in page.split('<table id="trusted-devices">')[1]
    assert console.post(f"/users/{user.id}/trusted-devices/forget").status_code == 302
    with app.app_context():
        assert services.mfa.trusted_devices.of_user(user.id) == []
