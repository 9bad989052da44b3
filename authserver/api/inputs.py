"""One gate for what every request carries in its URL and form (authserver.text).

A control character in the path or in a query or form parameter is ``400 invalid_request``
before any other per-request work: create_app registers the gate first. JSON bodies are checked
where they are parsed (authserver.authorization.json_object), HTTP Basic credentials where they
are read (``401 invalid_client``). An error description shows such a character as ``?`` (RFC
6749 §5.2).
"""

from __future__ import annotations

from flask import request

from authserver.errors import InvalidRequest
from authserver.text import unfit_name, unfit_text

FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_control_characters() -> None:
    """InvalidRequest if the path, a query parameter or a form parameter holds a control
    character (form values may hold TAB, LF and CR: text areas send them)."""
    if unfit_name(request.path):
        raise InvalidRequest("The URL path must not contain control characters.")
    for name, value in request.args.items(multi=True):
        if unfit_name(name) or unfit_name(value):
            raise InvalidRequest(f"{name} must not contain control characters.")
    if request.mimetype not in FORMS:
        return
    for name, value in request.form.items(multi=True):
        if unfit_name(name) or unfit_text(value):
            raise InvalidRequest(f"{name} must not contain control characters (tabs and "
                                 "line breaks excepted).")
