"""What text a request may carry: no C0 control characters and no DEL.

No OAuth parameter, identifier, email address or secret contains one (RFC 6749 Appendix A: every
parameter is made of visible characters and spaces), and PostgreSQL cannot store NUL at all.
Free text (an SMS template, a display name) may hold tabs and line breaks. A request with any
other control character is refused before it reaches a store, so it cannot fail there.
"""

from __future__ import annotations

import re

_IN_NAMES = re.compile("[\x00-\x1f\x7f]")
_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # TAB, LF and CR allowed


def unfit_name(value: str) -> bool:
    """True if value, an identifier, path, parameter name or credential, holds a control
    character."""
    return _IN_NAMES.search(value) is not None


def unfit_text(value: str) -> bool:
    """True if value, a parameter's value, holds a control character other than TAB, LF or
    CR."""
    return _IN_TEXT.search(value) is not None
