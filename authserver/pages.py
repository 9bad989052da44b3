"""What every server-rendered page shares, the dashboard's and the hosted sign-in's: security
headers and the CSRF check of a form.

* **Headers**: a CSP that allows only this origin's scripts and styles and no framing
  (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for older browsers: OWASP
  Clickjacking Defense), ``nosniff``, referrers only within the origin, and ``no-store`` on
  every page (they show account data or carry one-time state).
* **Errors** are pages too (:func:`register_error_pages`): a protocol error with its status,
  public description and ``Retry-After``; an unreachable database as 503; anything unexpected
  logged and shown as a generic 500, never a trace.
* **CSRF**: a POST carries the session's token (form field ``csrf_token`` or header
  ``X-CSRF-Token``), compared in constant time, and a cross-site ``Origin`` is refused too
  (OWASP CSRF Prevention Cheat Sheet: synchronizer token, origin check).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug import exceptions as http

from authserver.errors import ProtektError, ServerError, TemporarilyUnavailable, render
from authserver.extensions import db
from authserver.models.base import DATABASE_UNAVAILABLE

log = logging.getLogger("authserver.pages")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: Chromium then sends "Origin: null"
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSRF_REFUSED = ("This form did not come from this site, or has expired. Reload the page "
                "and try again.")


def secure_page(response: Response, csp: str = CSP) -> Response:
    """The security headers and ``no-store`` on a page."""
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    return response


def check_csrf(expected: str) -> None:
    """BadRequest unless this POST carries ``expected`` and comes from this origin."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    origin = request.headers.get("Origin")
    same_origin = origin is None or _origin(origin) == _origin(request.host_url)
    if not (expected and hmac.compare_digest(sent.encode(), expected.encode()) and same_origin):
        raise http.BadRequest(CSRF_REFUSED)


def script_answer(make: Callable[[], dict[str, Any]]) -> Response:
    """The JSON a page's script asked for (a passkey prompt's options), or the refusal as
    ``{"error", "error_description"}`` with its status; a server-side failure stays a 5xx."""
    try:
        return jsonify(make())
    except ProtektError as refused:
        if refused.status_code >= 500:
            raise
        answer = jsonify(error=refused.error, error_description=refused.get_error_description())
        answer.status_code = refused.status_code
        return answer


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


_TITLES = {400: "That did not work", 403: "Not allowed", 404: "Not found",
           429: "Too many attempts", 503: "Temporarily unavailable"}
ErrorPage = tuple[str, int, list[tuple[str, str]]]


def register_error_pages(bp: Blueprint, template: str) -> None:
    """Answer every error under ``bp`` with ``template`` (given ``title`` and ``message``)."""

    def error_page(error: OAuth2Error) -> ErrorPage:
        status, body, headers = render(error)
        html = render_template(template, title=_TITLES.get(status, "Something went wrong"),
                               message=body.get("error_description", ""))
        return html, status, [(k, v) for k, v in headers if k == "Retry-After"]

    def http_error_page(exc: http.HTTPException) -> ErrorPage:
        error = ServerError(exc.description)
        error.status_code = exc.code or 500
        return error_page(error)

    def database_unavailable_page(exc: Exception) -> ErrorPage:
        db.session.rollback()
        return error_page(TemporarilyUnavailable(detail=f"database: {type(exc).__name__}"))

    def unexpected_page(exc: Exception) -> ErrorPage:
        log.exception("unexpected error on a page", exc_info=exc)
        db.session.rollback()
        return error_page(ServerError())

    bp.register_error_handler(OAuth2Error, error_page)
    bp.register_error_handler(http.HTTPException, http_error_page)
    for unavailable in DATABASE_UNAVAILABLE:
        bp.register_error_handler(unavailable, database_unavailable_page)
    bp.register_error_handler(Exception, unexpected_page)
