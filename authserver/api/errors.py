"""The one place errors become HTTP responses.

Protocol errors (ours and Authlib's) render as ``{"error", "error_description"}`` with their own
status and headers; an unreachable database becomes ``503 temporarily_unavailable``; HTTP errors
from routing become JSON too; anything else is logged with its traceback and answered with a
generic ``500 server_error``. The body never carries a trace, SQL or internal names.
"""

from __future__ import annotations

import json
import logging

from authlib.oauth2 import OAuth2Error
from flask import Flask, Response
from werkzeug import exceptions as http

from authserver.errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProtektError,
    ServerError,
    TemporarilyUnavailable,
    render,
)
from authserver.extensions import db
from authserver.models.base import DATABASE_UNAVAILABLE

log = logging.getLogger("authserver.errors")

_HTTP_ERRORS: dict[int, type[ProtektError]] = {
    400: InvalidRequest, 404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge,
}


def respond(error: OAuth2Error) -> Response:
    status, body, headers = render(error)
    return Response(json.dumps(body), status=status, headers=headers)


def _database_unavailable(exc: Exception) -> Response:
    _discard_session()
    return respond(TemporarilyUnavailable(detail=f"database: {type(exc).__name__}: {exc}"))


def _http_error(exc: http.HTTPException) -> Response:
    error_class = _HTTP_ERRORS.get(exc.code or 500)
    if error_class is None:
        error = ProtektError(exc.description or None)
        error.status_code = exc.code or 500
        error.error = "invalid_request" if error.status_code < 500 else "server_error"
    else:
        error = error_class()
    response = respond(error)
    if isinstance(exc, http.MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    _discard_session()
    return respond(ServerError())


def _discard_session() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the session is dropped at teardown anyway
        log.debug("rollback failed", exc_info=True)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(OAuth2Error, respond)
    app.register_error_handler(http.HTTPException, _http_error)
    for exc_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(exc_class, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)
