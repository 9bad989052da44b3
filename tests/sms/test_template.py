"""The SMS template: segment counting (3GPP TS 23.038 / 23.040), rendering, and every refusal
of check() with its reason."""

from __future__ import annotations

import pytest

from authserver.errors import InvalidRequest
from authserver.sms.template import DEFAULT_TEMPLATE, check, render, segments

LONG_APP_NAME = "A" * 64
EMOJI = "\N{GRINNING FACE}"  # outside the BMP: two UTF-16 units


@pytest.mark.parametrize(("text", "count"), [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!¡ÄÖÑÜ§¿äöñüà" * 3, 1),  # basic table, one unit each
    ("€" * 80, 1),
    ("€" * 81, 2),
    ("[" * 80, 1),
    ("[" * 81, 2),
    ("a" * 158 + "]", 1),
    ("a" * 159 + "]", 2),
    ("ł" * 70, 1),
    ("ł" * 71, 2),
    ("ł" * 134, 2),
    ("ł" * 135, 3),
    ("a" * 69 + "ł", 1),
    ("a" * 70 + "ł", 2),
    (EMOJI * 35, 1),
    (EMOJI * 36, 2),
    ("a" * 68 + EMOJI, 1),
    ("a" * 69 + EMOJI, 2),
])
def test_segments(text: str, count: int) -> None:
    assert segments(text) == count


def test_render_substitutes_every_placeholder() -> None:
    text = render("{code} for {app_name}, {minutes} min; again {code}", code="123456",
                  app_name="Acme", minutes=5)
    assert text == "123456 for Acme, 5 min; again 123456"


def test_the_default_template_fits_with_the_longest_app_name_and_code_life() -> None:
    check(DEFAULT_TEMPLATE, LONG_APP_NAME, 15)


@pytest.mark.parametrize("template", [
    "{code}",
    "Your {app_name} code is {code}; valid {minutes} min. {{literal}}",
    "{code} ł" + "a" * 62,  # 70 UTF-16 units: the UCS-2 limit exactly
    "{code}" + "a" * 154,  # 160 GSM characters exactly
])
def test_usable_templates_pass(template: str) -> None:
    check(template, "Protekt", 5)


@pytest.mark.parametrize(("template", "reason"), [
    ("Your code is here", "must contain {code}"),
    ("{{code}} is escaped", "must contain {code}"),
    ("{code} for {user}", "unknown placeholder {user}"),
    ("{code} {}", "unknown placeholder {}"),
    ("{code} {0}", "unknown placeholder {0}"),
    ("{code.real}", r"unknown placeholder {code\.real}"),
    ("{code[0]}", r"unknown placeholder {code\[0\]}"),
    ("{code:>10}", "takes no format or conversion"),
    ("{code!r}", "takes no format or conversion"),
    ("{code} {", "unmatched brace"),
    ("{code} }", "unmatched brace"),
    ("{code", "unmatched brace"),
    ("{code}" + "a" * 155, "2 SMS segments"),
    ("{code}" + "€" * 78, "2 SMS segments"),
])
def test_check_refuses_with_the_reason(template: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        check(template, "Protekt", 5)


def test_a_template_can_fit_with_a_short_app_name_only() -> None:
    template = "{code} " + "a" * 100 + " {app_name}"
    check(template, "Protekt", 5)
    with pytest.raises(InvalidRequest, match="segments"):
        check(template, LONG_APP_NAME, 5)


def test_one_non_gsm_character_lowers_the_limit_to_70() -> None:
    check("{code} l" + "a" * 63, "Protekt", 5)  # 71 GSM characters
    with pytest.raises(InvalidRequest, match="segments"):
        check("{code} ł" + "a" * 63, "Protekt", 5)  # the same length in UCS-2
