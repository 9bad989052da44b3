"""Email addresses: well formed (email-validator) and unable to pass for another (UTS #39), at
the checker and wherever an address enters (the management API here; the dashboard and the CLI
call the same directory)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from authserver.accounts.addresses import checked_email
from authserver.accounts.users import normalize_email
from authserver.errors import InvalidRequest
from tests.api.test_management import machine, management_token  # noqa: F401 (a fixture)
from tests.conftest import RegisteredClient, assert_error, bearer

REFUSED = [  # (address, what the description says)
    ("hank\u200b@example.com", "unsafe characters"),  # an invisible zero width space
    ("h\u0430nk@example.com", "mixes scripts (Cyrillic, Latin)"),  # Cyrillic a inside Latin
    ("ann@ex\u0430mple.com", "mixes scripts"),  # in a label of the domain
    ("\u0430\u0440\u0435@example.com", "looks like a Latin letter"),  # "ape", all Cyrillic
    ("x<svg/onload=alert(1)>@example.com", "not valid"),
    ("ann@example", "not valid"),
    ("ann@@example.com", "not valid"),
    ("a" * 250 + "@example.com", "more than 254 characters"),
]
ACCEPTED = [
    "Ann.Lee+tag@Example.org",
    "jos\u00e9@example.com",
    "\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a",  # Chinese, Han only
    "\u3072\u3089\u304c\u306a\u30ab\u30bf\u30ab\u30ca\u6f22\u5b57@example.jp",  # kana and Han
    "\u0434\u043c\u0438\u0442\u0440\u0438\u0439@example.ru",  # a Russian name, Cyrillic only
    "\u03c0\u03b1\u03c5\u03bb\u03bf\u03c2@example.gr",  # a Greek name
]


@pytest.mark.parametrize(("address", "said"), REFUSED)
def test_refused_addresses_say_why(address: str, said: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        checked_email(address)
    assert "The email address" in refused.value.description
    assert said in refused.value.description


@pytest.mark.parametrize("address", ACCEPTED)
def test_real_addresses_in_any_one_script_are_kept_as_typed(address: str) -> None:
    assert checked_email(f"  {address} ") == address


def test_two_spellings_of_one_address_are_one_login_name() -> None:
    composed, decomposed = "jos\u00e9@example.com", "jose\u0301@example.com"
    assert checked_email(decomposed) == unicodedata.normalize("NFC", decomposed) == composed
    assert normalize_email(decomposed) == normalize_email(composed.upper())


@pytest.mark.parametrize(("address", "said"), REFUSED[:5])
def test_the_management_api_creates_no_look_alike(
        client: FlaskClient, machine: RegisteredClient,  # noqa: F811
        make_user: Callable[..., Any], address: str, said: str) -> None:
    ops = bearer(management_token(client, machine))
    made = client.post("/api/v2/users", json={"email": address, "password": "long enough pw"},
                       headers=ops)
    assert said in assert_error(made, "invalid_request", 400)["error_description"]
    assert client.get("/api/v2/users?q=example.com", headers=ops).get_json()["users"] == []
    user = make_user("hank@example.com")
    patched = client.patch(f"/api/v2/users/{user.id}", json={"email": address}, headers=ops)
    assert_error(patched, "invalid_request", 400)
    assert client.get(f"/api/v2/users/{user.id}", headers=ops).get_json()["email"] == (
        "hank@example.com")
