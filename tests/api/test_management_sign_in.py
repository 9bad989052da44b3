"""The management API's side of the browser sign-in: clients' redirect URIs and first-party
flag, users' profile claims, and users' consents (listed and revoked). Every refusal is
``400 invalid_request`` (or ``404 not_found``) and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.accounts.test_profile import ANN
from tests.accounts.test_profile import BAD as BAD_CLAIMS
from tests.api.test_client_sign_in import BAD_URIS, GOOD_URIS
from tests.api.test_management import ALL_SCOPES, API, call, give_consent, management_token
from tests.conftest import RegisteredClient, assert_error

CLAIMS = ("name", "given_name", "family_name", "preferred_username", "picture", "locale")
URI_FIELDS = ("redirect_uris", "post_logout_redirect_uris")


@pytest.fixture
def ops(client: FlaskClient, make_client: Callable[..., RegisteredClient]) -> str:
    """A management token holding every scope."""
    machine = make_client(name="Ops", grant_types=["client_credentials"],
                          scopes=ALL_SCOPES.split(), audiences=[API])
    return management_token(client, machine)


def clients(client: FlaskClient, ops: str) -> list[dict[str, Any]]:
    return call(client, "GET", "/api/v2/clients", ops).get_json()["clients"]


def events(client: FlaskClient, ops: str, kind: str, **query: str) -> list[dict[str, Any]]:
    filters = "".join(f"&{name}={value}" for name, value in query.items())
    return call(client, "GET", f"/api/v2/audit-events?type={kind}{filters}", ops).get_json()[
        "events"]


# --- clients --------------------------------------------------------------------------------

def test_a_client_is_created_with_its_uris_and_shows_them(client: FlaskClient,
                                                          ops: str) -> None:
    made = call(client, "POST", "/api/v2/clients", ops, {
        "name": "Partner", "redirect_uris": [*GOOD_URIS, GOOD_URIS[0]],
        "post_logout_redirect_uris": ["https://partner.example/"], "first_party": False})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["redirect_uris"] == [uri.strip() for uri in GOOD_URIS]  # in order, once each
    assert body["post_logout_redirect_uris"] == ["https://partner.example/"]
    assert body["first_party"] is False
    read = call(client, "GET", f"/api/v2/clients/{body['client_id']}", ops).get_json()
    assert {name: read[name] for name in (*URI_FIELDS, "first_party")} == {
        name: body[name] for name in (*URI_FIELDS, "first_party")}
    plain = call(client, "POST", "/api/v2/clients", ops, {"name": "Own"}).get_json()
    assert (plain["redirect_uris"], plain["post_logout_redirect_uris"], plain["first_party"]) \
        == ([], [], True)


@pytest.mark.parametrize(("uri", "message"), BAD_URIS)
def test_a_bad_uri_is_refused_and_nothing_is_written(
    client: FlaskClient, ops: str, web_app: RegisteredClient, uri: str, message: str,
) -> None:
    before = clients(client, ops)
    for field in URI_FIELDS:
        made = call(client, "POST", "/api/v2/clients", ops,
                    {"name": "Bad", field: ["https://ok.example/cb", uri]})
        description = assert_error(made, "invalid_request", 400)["error_description"]
        assert description.startswith(f"{field}: ") and message in description
        changed = call(client, "PATCH", f"/api/v2/clients/{web_app.client_id}", ops,
                       {field: [uri], "first_party": False, "grant_types": ["password"]})
        assert message in assert_error(changed, "invalid_request", 400)["error_description"]
    assert clients(client, ops) == before
    assert events(client, ops, "client.updated") == []


def test_twenty_one_uris_are_refused(client: FlaskClient, ops: str) -> None:
    uris = [f"https://app.example.com/cb{n}" for n in range(21)]
    made = call(client, "POST", "/api/v2/clients", ops, {"name": "Many", "redirect_uris": uris})
    assert "at most 20 URIs" in assert_error(made, "invalid_request", 400)["error_description"]
    made = call(client, "POST", "/api/v2/clients", ops,
                {"name": "Enough", "redirect_uris": uris[:20]})
    assert made.status_code == 201


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "A", "first_party": "no"}, "first_party must be true or false"),
    ({"name": "A", "first_party": None}, "first_party must be true or false"),
    ({"name": "A", "redirect_uris": "https://a.example/cb"}, "redirect_uris must be a list"),
    ({"name": "A", "post_logout_redirect_uris": [1]}, "post_logout_redirect_uris must be a list"),
])
def test_bad_new_client_fields_are_refused(client: FlaskClient, ops: str, body: dict[str, Any],
                                           message: str) -> None:
    before = clients(client, ops)
    response = call(client, "POST", "/api/v2/clients", ops, body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]
    assert clients(client, ops) == before


def test_a_patch_changes_the_uris_and_the_flag_audited_by_name(
    client: FlaskClient, ops: str, web_app: RegisteredClient,
) -> None:
    path = f"/api/v2/clients/{web_app.client_id}"
    changed = call(client, "PATCH", path, ops, {
        "redirect_uris": ["https://web.example/cb", "http://localhost:8080/cb"],
        "post_logout_redirect_uris": ["https://web.example/"], "first_party": False})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["redirect_uris"] == ["https://web.example/cb", "http://localhost:8080/cb"]
    assert (body["post_logout_redirect_uris"], body["first_party"]) == (
        ["https://web.example/"], False)
    assert call(client, "GET", path, ops).get_json() == body
    [event] = events(client, ops, "client.updated")
    assert event["detail"] == {"fields": ["redirect_uris", "post_logout_redirect_uris",
                                          "first_party"]}  # names, never the URIs
    cleared = call(client, "PATCH", path, ops, {"redirect_uris": [], "first_party": True})
    assert (cleared.get_json()["redirect_uris"], cleared.get_json()["first_party"]) == ([], True)
    assert cleared.get_json()["post_logout_redirect_uris"] == ["https://web.example/"]


@pytest.mark.parametrize(("body", "message"), [
    ({"first_party": "false"}, "first_party must be true or false"),
    ({"redirect_uris": "https://web.example/cb"}, "redirect_uris must be a list of strings"),
    ({"redirect_uris": [None]}, "redirect_uris must be a list of strings"),
    ({"redirect_uris": ["https://web.example/cb"], "public": True}, "Unknown client field"),
    ({"grant_types": [], "redirect_uris": ["https://web.example/cb"]}, "at least one grant"),
])
def test_bad_client_patches_change_nothing(client: FlaskClient, ops: str,
                                           web_app: RegisteredClient, body: dict[str, Any],
                                           message: str) -> None:
    path = f"/api/v2/clients/{web_app.client_id}"
    before = call(client, "GET", path, ops).get_json()
    response = call(client, "PATCH", path, ops, body)
    assert message in assert_error(response, "invalid_request", 400)["error_description"]
    assert call(client, "GET", path, ops).get_json() == before


# --- users' profile -------------------------------------------------------------------------

def test_a_user_is_created_with_a_profile(client: FlaskClient, ops: str) -> None:
    made = call(client, "POST", "/api/v2/users", ops,
                {"email": "ann@example.org", "password": "long enough pw", **ANN})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert {name: body[name] for name in CLAIMS} == ANN and body["updated_at"]
    plain = call(client, "POST", "/api/v2/users", ops,
                 {"email": "bob@example.org", "password": "long enough pw"}).get_json()
    assert all(plain[name] is None for name in (*CLAIMS, "updated_at"))


def users_named(client: FlaskClient, ops: str, text: str) -> list[dict[str, Any]]:
    return call(client, "GET", f"/api/v2/users?q={text}", ops).get_json()["users"]


@pytest.mark.parametrize(("claims", "message"), [
    *BAD_CLAIMS, ({"email_verified": True}, "Unknown user field 'email_verified'")])
def test_a_bad_profile_creates_no_user(client: FlaskClient, ops: str, claims: dict[str, Any],
                                       message: str) -> None:
    made = call(client, "POST", "/api/v2/users", ops,
                {"email": "cy@example.org", "password": "long enough pw", **claims})
    expected = message.replace("profile claim", "user field")  # the API names its fields
    assert expected in assert_error(made, "invalid_request", 400)["error_description"]
    assert users_named(client, ops, "cy@") == []


def test_a_patch_sets_and_clears_claims_audited_by_name_only(client: FlaskClient, ops: str,
                                                             user: Any) -> None:
    path = f"/api/v2/users/{user.id}"
    changed = call(client, "PATCH", path, ops, ANN).get_json()
    assert {name: changed[name] for name in CLAIMS} == ANN and changed["updated_at"]
    assert call(client, "GET", path, ops).get_json() == changed
    cleared = call(client, "PATCH", path, ops, {"picture": "", "locale": None}).get_json()
    assert (cleared["picture"], cleared["locale"], cleared["name"]) == (None, None, "Ann Lee")
    assert cleared["updated_at"] >= changed["updated_at"]
    updates = events(client, ops, "user.updated", user_id=user.id)
    assert [e["detail"] for e in updates] == [{"fields": ["picture", "locale"]},
                                              {"fields": list(CLAIMS)}]  # newest first
    assert "Ann Lee" not in str(updates) and "ann.png" not in str(updates)


@pytest.mark.parametrize(("claims", "message"), [
    *BAD_CLAIMS, ({"name": "Ann", "email": "not-an-email"}, "email address is not valid")])
def test_a_bad_profile_patch_changes_nothing(client: FlaskClient, ops: str, user: Any,
                                             claims: dict[str, Any], message: str) -> None:
    path = f"/api/v2/users/{user.id}"
    before = call(client, "GET", path, ops).get_json()
    response = call(client, "PATCH", path, ops, {**claims, "email_verified": True})
    expected = message.replace("profile claim", "user field")  # the API names its fields
    assert expected in assert_error(response, "invalid_request", 400)["error_description"]
    assert call(client, "GET", path, ops).get_json() == before
    assert events(client, ops, "user.updated", user_id=user.id) == []


# --- users' consents ------------------------------------------------------------------------

def test_consents_are_listed_and_revoked(
    app: Flask, client: FlaskClient, ops: str, user: Any,
    make_client: Callable[..., RegisteredClient],
) -> None:
    partner = make_client(name="Partner", first_party=False,
                          redirect_uris=["https://partner.example/cb"])
    path = f"/api/v2/users/{user.id}/consents"
    assert call(client, "GET", path, ops).get_json() == {"consents": []}
    give_consent(app, user.id, partner.client_id, ("openid", "profile", "phone"))
    [consent] = call(client, "GET", path, ops).get_json()["consents"]
    assert {name: consent[name] for name in ("client_id", "client_name", "scopes")} == {
        "client_id": partner.client_id, "client_name": "Partner",
        "scopes": ["openid", "profile", "phone"]}
    assert consent["granted_at"]
    assert call(client, "DELETE", f"{path}/{partner.client_id}", ops).status_code == 204
    assert call(client, "GET", path, ops).get_json() == {"consents": []}
    [revoked] = events(client, ops, "consent.revoked", user_id=user.id)
    assert revoked["client_id"] == partner.client_id
    again = call(client, "DELETE", f"{path}/{partner.client_id}", ops)
    assert_error(again, "not_found", 404)


def test_only_that_users_consent_to_that_client_is_revoked(
    app: Flask, client: FlaskClient, ops: str, user: Any, *, make_user: Callable[..., Any],
    make_client: Callable[..., RegisteredClient],
) -> None:
    bob = make_user(email="bob@example.org")
    one, two = make_client(name="One"), make_client(name="Two")
    for user_id in (user.id, bob.id):
        for app_client in (one, two):
            give_consent(app, user_id, app_client.client_id)
    unknown = call(client, "DELETE", f"/api/v2/users/{user.id}/consents/nothing", ops)
    assert_error(unknown, "not_found", 404)
    call(client, "DELETE", f"/api/v2/users/{user.id}/consents/{one.client_id}", ops)
    mine = call(client, "GET", f"/api/v2/users/{user.id}/consents", ops).get_json()
    assert [c["client_id"] for c in mine["consents"]] == [two.client_id]
    bobs = call(client, "GET", f"/api/v2/users/{bob.id}/consents", ops).get_json()
    assert {c["client_id"] for c in bobs["consents"]} == {one.client_id, two.client_id}
