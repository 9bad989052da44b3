"""Phone numbers: E.164 normalisation, every refusal with its reason, masking."""

from __future__ import annotations

import pytest

from authserver.errors import InvalidRequest
from authserver.sms.phone import PhoneNumber, from_e164, known_country, mask, parse

US_MOBILE = "+14155552671"
UK_MOBILE = "+447400123456"


@pytest.mark.parametrize(("raw", "e164", "country"), [
    ("+1 (415) 555-2671", US_MOBILE, "US"),
    ("+1-415-555-2671", US_MOBILE, "US"),
    ("  +14155552671  ", US_MOBILE, "US"),
    ("+44 7400 123456", UK_MOBILE, "GB"),
    ("+44 (0) 7400-123-456", UK_MOBILE, "GB"),
    ("+33 6 12 34 56 78", "+33612345678", "FR"),
])
def test_valid_numbers_are_normalised_to_e164(raw: str, e164: str, country: str) -> None:
    assert parse(raw) == PhoneNumber(e164, country)


@pytest.mark.parametrize(("raw", "allowed", "reason"), [
    ("14155552671", (), "international format"),
    ("(415) 555-2671", (), "international format"),
    ("", (), "international format"),
    ("+" + "1" * 45, (), "international format"),
    ("+12345", (), "not a valid phone number"),
    ("+1 415 555 2671 99", (), "not a valid phone number"),
    ("+not a number", (), "not a valid phone number"),
    ("+442079460000", (), "fixed line"),
    ("+18005550100", (), "toll-free"),
    ("+19005550100", (), "premium-rate"),
    (UK_MOBILE, ("US", "FR"), "not allowed"),
])
def test_refusals_say_why(raw: str, allowed: tuple[str, ...], reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        parse(raw, allowed)


def test_an_allowed_country_passes() -> None:
    assert parse(UK_MOBILE, ("US", "GB")).country == "GB"


@pytest.mark.parametrize(("e164", "masked"), [
    (US_MOBILE, "+1******2671"),
    (UK_MOBILE, "+44******3456"),
    ("+33612345678", "+33*****5678"),
])
def test_mask_shows_the_country_code_and_the_last_four_digits(e164: str, masked: str) -> None:
    assert mask(e164) == masked
    assert from_e164(e164).masked == masked


@pytest.mark.parametrize(("e164", "masked"), [
    ("+6907290", "+690**90"),  # Tokelau: 4 national digits, 2 show
    ("+29051234", "+290***34"),  # Saint Helena: 5 national digits, 2 show
])
def test_short_numbers_show_at_most_half_their_digits(e164: str, masked: str) -> None:
    assert mask(e164) == masked


@pytest.mark.parametrize("raw", [US_MOBILE, UK_MOBILE, "+33612345678"])
def test_from_e164_reads_back_what_parse_checked(raw: str) -> None:
    checked = parse(raw)
    assert from_e164(checked.e164) == checked


@pytest.mark.parametrize(("code", "known"), [
    ("US", True), ("GB", True), ("FR", True),
    ("XX", False), ("us", False), ("001", False), ("", False), (1, False), (None, False),
])
def test_known_country(code: object, known: bool) -> None:
    assert known_country(code) is known
