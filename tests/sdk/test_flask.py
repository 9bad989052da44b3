"""The Authorization header the Flask decorator accepts (RFC 6750 §2.1)."""

from __future__ import annotations

import pytest

from protekt.flask import bearer_token


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc.def.ghi", "abc.def.ghi"),
    ("bearer abc", "abc"),  # the scheme is case-insensitive (RFC 9110 §11.1)
    ("Basic dXNlcjpwdw==", None),
    ("Bearer", None),
    ("Bearer ", None),
    ("Bearer a b", None),
    ("", None),
])
def test_bearer_token(header: str, token: str | None) -> None:
    assert bearer_token(header) == token
