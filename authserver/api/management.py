"""The management API (API.md §4), first part: MFA settings and SMS credits.

Authorised by client_credentials access tokens (RFC 6749 §4.4) whose audience is
``{issuer}/api/v2/`` and whose scope names what each call needs (RFC 6750 §3.1:
``insufficient_scope``, 403). The rules live in the domain services (``MfaSettingsStore``,
``SmsCredits``), which the CLI uses too: this layer only reads requests and writes answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from authserver.api.bearer import bearer_token
from authserver.authorization import json_object
from authserver.errors import InsufficientScope, InvalidRequest, InvalidToken
from authserver.extensions import services
from authserver.scopes import (
    MANAGEMENT_PATH,
    READ_SETTINGS,
    READ_SMS_CREDITS,
    UPDATE_SETTINGS,
    UPDATE_SMS_CREDITS,
)

bp = Blueprint("management", __name__, url_prefix=MANAGEMENT_PATH.rstrip("/"))


def authorize(scope: str) -> dict[str, Any]:
    """The claims of a machine client's token for this API holding ``scope``."""
    audience = services.settings.issuer + MANAGEMENT_PATH
    claims = services.access_tokens.verify(bearer_token(request), audience)
    if claims["sub"] != claims["client_id"]:
        raise InvalidToken("The management API takes a client_credentials token, not a user's.")
    if scope not in claims.get("scope", "").split():
        raise InsufficientScope(f"This call needs scope {scope}.")
    return claims


def _no_store(body: Any) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidRequest("Send a JSON object (Content-Type: application/json).")
    return json_object(request.get_data(cache=True))


@bp.get("/mfa/settings")
def read_settings() -> Response:
    authorize(READ_SETTINGS)
    return _no_store(services.mfa.settings.load().as_dict())


@bp.patch("/mfa/settings")
def update_settings() -> Response:
    """Change some settings; all are checked together, nothing is stored if one is wrong. They
    apply from the next request on every server process (the row is read per request)."""
    authorize(UPDATE_SETTINGS)
    changes = _json_body()
    return _no_store(services.mfa.settings.update(**changes).as_dict())


@bp.get("/sms/credits")
def read_credits() -> Response:
    authorize(READ_SMS_CREDITS)
    return _no_store({"balance": services.mfa.sms_credits.balance()})


@bp.post("/sms/credits")
def top_up_credits() -> Response:
    """``{"add": n}``: a top-up, checked and audited by ``SmsCredits.top_up``."""
    authorize(UPDATE_SMS_CREDITS)
    body = _json_body()
    if set(body) != {"add"}:
        raise InvalidRequest("Send {\"add\": n}, the number of credits to add.")
    return _no_store({"balance": services.mfa.sms_credits.top_up(body["add"])})
