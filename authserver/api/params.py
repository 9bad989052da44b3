"""Reading numbers that people type into query strings and forms."""

from __future__ import annotations

MAX_DIGITS = 12  # beyond any count, page or bound Protekt takes; far below int()'s digit limit


def whole_number(raw: str) -> int | None:
    """The number ``raw`` spells in ASCII digits (at most ``MAX_DIGITS``), else None: a longer
    string would cost int() time, overflow a database OFFSET, or meet Python's 4,300-digit
    limit as a 500."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DIGITS:
        return None
    return int(raw)
