"""Email addresses users sign in with: well formed, and unable to pass for someone else's.

* **Form**: ``email-validator`` (RFC 5321 and RFC 5322, internationalized addresses per RFC
  6531), without a DNS lookup (whether mail arrives is the mail server's business, and test
  addresses have no MX). It also refuses the characters a reader cannot see or that change
  what is shown: zero-width characters, bidirectional controls, whitespace.
* **Look-alikes** (Unicode Technical Standard #39): every part of the address (the local part,
  each label of the domain) is written in one script, or in one of the combinations that §5.2
  "Highly Restrictive" allows (Latin with Han and Japanese kana, with Han and Bopomofo, with
  Han and Hangul), so ``hank@example.com`` spelt with a Cyrillic a (U+0430) is refused; and a
  part written wholly in another script whose every letter has a Latin look-alike (§4,
  whole-script confusables: "ape" in Cyrillic, U+0430 U+0440 U+0435) is refused too. The script
  and confusable data are Unicode's (Scripts.txt, confusables.txt), from
  ``confusable_homoglyphs``.

The address is kept as typed (trimmed, its case shown as given: the login name is case-folded,
authserver.accounts.users.normalize_email) in Unicode NFC, so that two spellings of one address
(a composed and a decomposed ``é``) are one user.
"""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import categories, confusables
from email_validator import EmailNotValidError, validate_email

from authserver.errors import InvalidRequest

MAX_EMAIL_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path of 256 octets, less the angle brackets
_EVERY_SCRIPT = frozenset({"COMMON", "INHERITED"})  # digits, punctuation, combining marks
_HIGHLY_RESTRICTIVE = (  # UTS #39 §5.2: the script combinations one part may mix
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def checked_email(email: str) -> str:
    """The address as it will be shown; InvalidRequest saying what is wrong when it is not a
    valid address or could be mistaken for another."""
    email = email.strip()
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidRequest(f"The email address is not valid. It has more than "
                             f"{MAX_EMAIL_LENGTH} characters.")
    try:
        valid = validate_email(email, check_deliverability=False)
    except EmailNotValidError as refused:
        raise InvalidRequest(f"The email address is not valid. {refused}") from None
    for part in (valid.local_part, *valid.domain.split(".")):
        _check_look_alikes(part)
    return unicodedata.normalize("NFC", email)


def _check_look_alikes(part: str) -> None:
    scripts = frozenset(categories.unique_aliases(part)) - _EVERY_SCRIPT
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _HIGHLY_RESTRICTIVE):
        raise InvalidRequest(
            f"The email address mixes scripts ({', '.join(sorted(s.title() for s in scripts))})"
            f" in '{part}', so it could pass for another address.")
    if scripts and scripts != {"LATIN"} and _all_look_latin(part):
        raise InvalidRequest(
            f"The email address could pass for another: every letter of '{part}' looks like a "
            "Latin letter.")


def _all_look_latin(part: str) -> bool:
    """Every letter of ``part`` (outside Common and Inherited) has a Latin look-alike."""
    letters = {char for char in part if categories.alias(char) not in _EVERY_SCRIPT}
    found = confusables.is_confusable(part, greedy=True, preferred_aliases=["latin"]) or []
    return letters <= {entry["character"] for entry in found}
