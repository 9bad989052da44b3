"""Phone numbers for SMS: parsed, checked and normalised to E.164 (ITU-T E.164) with libphonenumber.

A number must be given in international form (``+`` and the country code): guessing a country
from the server's locale would send codes to the wrong place. It must be valid, able to receive
SMS (mobile, or a region where mobile and fixed numbers cannot be told apart, as in North
America), and in an allowed country when the operator keeps a list (the first defence against
SMS pumping to premium ranges).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from authserver.errors import InvalidRequest

_TEXTABLE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "a fixed line",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "a VoIP number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal number",
    PhoneNumberType.PAGER: "a pager",
    PhoneNumberType.UAN: "a company number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}
_MAX_INPUT = 40
_SHOWN_DIGITS = 4


@dataclass(frozen=True)
class PhoneNumber:
    """A checked number: ``e164`` like ``+14155552671`` and its ISO 3166 ``country``."""

    e164: str
    country: str

    @property
    def masked(self) -> str:
        """What lists show: the country code and the last digits, ``+1******2671``."""
        return mask(self.e164)


def parse(raw: str, allowed_countries: tuple[str, ...] = ()) -> PhoneNumber:
    """The number in E.164, or InvalidRequest saying what is wrong with it.

    ``allowed_countries`` lists ISO 3166-1 alpha-2 codes; empty allows every country.
    """
    number = _parsed(raw)
    country = phonenumbers.region_code_for_number(number) or "001"
    kind = phonenumbers.number_type(number)
    if kind not in _TEXTABLE:
        what = _TYPE_NAMES.get(kind, "not a mobile number")
        raise InvalidRequest(f"phone_number is {what}; SMS codes go to mobile numbers only.")
    checked = PhoneNumber(phonenumbers.format_number(number, PhoneNumberFormat.E164), country)
    ensure_allowed(checked, allowed_countries)
    return checked


def from_e164(e164: str) -> PhoneNumber:
    """A number checked when it was enrolled, read back without checking it again."""
    number = phonenumbers.parse(e164, None)
    return PhoneNumber(e164, phonenumbers.region_code_for_number(number) or "001")


def known_country(code: object) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 region libphonenumber knows."""
    return isinstance(code, str) and code in phonenumbers.SUPPORTED_REGIONS


def ensure_allowed(number: PhoneNumber, allowed_countries: tuple[str, ...]) -> None:
    """InvalidRequest unless the number's country is allowed (empty list: all are)."""
    if allowed_countries and number.country not in allowed_countries:
        raise InvalidRequest(
            f"SMS to numbers in {number.country} is not allowed here; allowed countries: "
            f"{', '.join(allowed_countries)}."
        )


def mask(e164: str) -> str:
    """``+14155552671`` → ``+1******2671``: enough to tell one's numbers apart. At most half of
    the national digits show, and never more than four, however short the number."""
    number = phonenumbers.parse(e164)
    prefix = f"+{number.country_code}"
    national = e164[len(prefix):]
    shown = min(_SHOWN_DIGITS, len(national) // 2)
    return prefix + "*" * (len(national) - shown) + national[len(national) - shown:]


def _parsed(raw: str) -> phonenumbers.PhoneNumber:
    text = raw.strip()
    if not text.startswith("+") or len(text) > _MAX_INPUT:
        raise InvalidRequest(
            "phone_number must be in international format: + and the country code, "
            "like +14155552671."
        )
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidRequest(f"phone_number {text!r} is not a valid phone number.")
    return number
