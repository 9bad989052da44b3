"""The SMS text: a template with ``{code}``, ``{app_name}`` and ``{minutes}``, and its length in
SMS segments (3GPP TS 23.038 alphabets, TS 23.040 concatenation).

A message in the GSM 7-bit default alphabet holds 160 characters (characters of the extension
table count twice); anything else is sent as UCS-2, 70 UTF-16 units. Longer texts are split into
segments of 153 or 67, each billed as one SMS. The operator's template is checked when saved:
it must hold ``{code}``, no other placeholder, and fit one segment once rendered.
"""

from __future__ import annotations

from string import Formatter

from authserver.errors import InvalidRequest

PLACEHOLDERS = ("code", "app_name", "minutes")
DEFAULT_TEMPLATE = "{code} is your {app_name} verification code. It expires in {minutes} minutes."
MAX_SEGMENTS = 1
MAX_LENGTH = 500  # of the template itself, as stored

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = "^{}\\[~]|€\f"
_SINGLE = {"gsm7": 160, "ucs2": 70}
_PART = {"gsm7": 153, "ucs2": 67}


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (each is billed as one message)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        encoding = "gsm7"
        units = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
    else:
        encoding = "ucs2"
        units = len(text.encode("utf-16-le")) // 2
    if units <= _SINGLE[encoding]:
        return 1
    return -(-units // _PART[encoding])


def render(template: str, *, code: str, app_name: str, minutes: int) -> str:
    """The message text; the template was checked when saved."""
    return template.format(code=code, app_name=app_name, minutes=minutes)


def check(template: str, app_name: str, longest_minutes: int) -> None:
    """InvalidRequest with the reason unless the template is usable.

    Rendered with a 6-digit code, this ``app_name`` and ``longest_minutes``, it must fit in
    ``MAX_SEGMENTS`` segment(s).
    """
    if len(template) > MAX_LENGTH:
        raise InvalidRequest(f"sms_template must be at most {MAX_LENGTH} characters long.")
    names = _placeholders(template)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        raise InvalidRequest(
            f"sms_template has an unknown placeholder {{{unknown[0]}}}; use "
            f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
        )
    if "code" not in names:
        raise InvalidRequest("sms_template must contain {code}, where the code goes.")
    text = render(template, code="000000", app_name=app_name, minutes=longest_minutes)
    count = segments(text)
    if count > MAX_SEGMENTS:
        raise InvalidRequest(
            f"sms_template renders to {count} SMS segments ({len(text)} characters); it must "
            "fit in one: 160 GSM characters, or 70 when it holds other characters."
        )


def _placeholders(template: str) -> list[str]:
    """The placeholder names, or InvalidRequest for broken braces or formatting syntax."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError:
        raise InvalidRequest(
            "sms_template has an unmatched brace; write {{ and }} for literal braces."
        ) from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise InvalidRequest(f"sms_template placeholder {{{name}}} takes no format or "
                                 "conversion.")
        names.append(name)
    return names
