"""Property tests (Hypothesis) of the parsers every request's text goes through: whatever they
are given, they answer or refuse in their documented way, never with another exception (which
would be a 500). Each runs a bounded number of examples, derandomized so the suite is stable."""

from __future__ import annotations

import base64
import json

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authserver.accounts.addresses import checked_email
from authserver.api.params import MAX_DIGITS, whole_number
from authserver.authorization import json_object
from authserver.errors import InvalidRequest
from authserver.scopes import format_scope, parse_scope
from authserver.sms import phone, template
from authserver.text import unfit_name, unfit_text

BOUNDED = settings(max_examples=300, derandomize=True, deadline=None)
CONTROLS = {chr(c) for c in range(0x20)} | {"\x7f"}


@BOUNDED
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_a_json_body_is_an_object_or_invalid_request(raw: bytes) -> None:
    try:
        parsed = json_object(raw)
    except InvalidRequest:
        return
    assert isinstance(parsed, dict)


@BOUNDED
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12))
def test_json_with_a_control_character_anywhere_is_refused(value: object) -> None:
    raw = json.dumps({"field": value}).encode()
    text_anywhere = json.dumps(value)
    decoded = json.loads(text_anywhere)
    has_control = any(unfit_text(s) for s in _strings(decoded)) or any(
        unfit_name(k) for k in _keys(decoded))
    if has_control:
        with pytest.raises(InvalidRequest, match="control characters"):
            json_object(raw)
    else:
        assert json_object(raw)["field"] == _integral(decoded)


@BOUNDED
@given(st.text(max_size=40))
def test_the_text_rules_are_the_control_characters(text: str) -> None:
    assert unfit_name(text) == any(c in CONTROLS for c in text)
    assert unfit_text(text) == any(c in CONTROLS - {"\t", "\n", "\r"} for c in text)


@BOUNDED
@given(st.text(max_size=60))
def test_a_scope_string_parses_to_tokens_that_format_back(raw: str) -> None:
    try:
        tokens = parse_scope(raw)
    except ValueError:
        return
    assert tokens and all(tokens)
    assert parse_scope(format_scope(tokens)) == tokens


@BOUNDED
@given(st.text(max_size=20))
def test_a_query_number_is_a_bounded_whole_number_or_none(raw: str) -> None:
    number = whole_number(raw)
    digits = raw.strip()
    if number is None:
        assert not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS)
    else:
        assert 0 <= number < 10 ** MAX_DIGITS
        assert number == int(digits)


@BOUNDED
@given(st.text(max_size=30) | st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"))
def test_a_phone_number_is_e164_or_invalid_request(raw: str) -> None:
    try:
        number = phone.parse(raw)
    except InvalidRequest:
        return
    assert number.e164.startswith("+") and number.e164[1:].isdigit()
    assert phone.mask(number.e164).startswith("+")


@BOUNDED
@given(st.text(max_size=120), st.text(min_size=1, max_size=64), st.integers(1, 15))
def test_an_sms_template_is_accepted_or_invalid_request(text: str, issuer: str,
                                                        minutes: int) -> None:
    try:
        template.check(text, issuer, minutes)
    except InvalidRequest:
        return
    rendered = template.render(text, code="123456", app_name=issuer, minutes=minutes)
    assert "123456" in rendered


@BOUNDED
@given(st.emails() | st.text(max_size=60))
def test_an_email_is_kept_or_invalid_request(raw: str) -> None:
    try:
        kept = checked_email(raw)
    except InvalidRequest:
        return
    assert "@" in kept and kept == kept.strip()


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=40))
def test_any_basic_credentials_are_a_client_error_never_a_500(client: FlaskClient,
                                                               raw: bytes) -> None:
    header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    for path in ("/oauth/token", "/oauth/revoke", "/mfa/challenge"):
        answer = client.post(path, data={"grant_type": "client_credentials", "token": "t",
                                         "mfa_token": "m"}, headers=header)
        assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def _keys(value: object) -> list[str]:
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    if isinstance(value, dict):
        return [*value, *(k for item in value.values() for k in _keys(item))]
    return []


def _integral(value: object) -> object:
    """What json_object makes of a value: whole floats become ints (JSON Schema's integer)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value
