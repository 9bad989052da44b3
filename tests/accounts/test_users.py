"""The user directory: validation, case-insensitive login names, hashed passwords."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from authserver.errors import InvalidRequest
from authserver.extensions import services


def test_email_is_unique_regardless_of_case(app: Flask, make_user: Any) -> None:
    make_user("Ann.Lee@Example.org")
    with app.app_context(), pytest.raises(InvalidRequest, match="already exists"):
        services.administration.create("ann.lee@EXAMPLE.ORG", "another password")


def test_lookup_ignores_case_and_surrounding_space(app: Flask, make_user: Any) -> None:
    created = make_user("Ann.Lee@Example.org")
    with app.app_context():
        found = services.users.find_by_email("  ANN.LEE@example.ORG ")
        assert found is not None and found.id == created.id
        assert found.email == "Ann.Lee@Example.org"  # shown as entered


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.org", "ann@example",
                                   "ann lee@example.org", "a@b@example.org", "x" * 250 + "@e.org"])
def test_malformed_emails_are_refused(app: Flask, email: str) -> None:
    with app.app_context(), pytest.raises(InvalidRequest, match="email"):
        services.administration.create(email, "correct horse")


@pytest.mark.parametrize("password", ["", "short", "x" * 1025])
def test_passwords_outside_8_to_1024_characters_are_refused(app: Flask, password: str) -> None:
    with app.app_context(), pytest.raises(InvalidRequest, match="8 to 1024"):
        services.administration.create("ann@example.org", password)


def test_the_password_is_stored_as_an_argon2id_hash(make_user: Any) -> None:
    user = make_user(password="correct horse battery")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
