"""The management API (API.md §4), first part: MFA settings, SMS credits and users.

Authorised by client_credentials access tokens (RFC 6749 §4.4) whose audience is
``{issuer}/api/v2/`` and whose scope names what each call needs (RFC 6750 §3.1:
``insufficient_scope``, 403). The rules live in the domain services (``MfaSettingsStore``,
``SmsCredits``, ``UserDirectory``, ``UserAdministration``), which the CLI and the dashboard use
too: this layer only reads requests and writes answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from authserver.api.bearer import bearer_token
from authserver.authorization import json_object
from authserver.errors import InsufficientScope, InvalidRequest, InvalidToken
from authserver.extensions import services
from authserver.models import User
from authserver.scopes import (
    CREATE_USERS,
    DELETE_AUTHENTICATORS,
    DELETE_USERS,
    MANAGEMENT_PATH,
    READ_SETTINGS,
    READ_SMS_CREDITS,
    READ_USERS,
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


@bp.get("/users")
def search_users() -> Response:
    """``?q=`` (part of the email), ``page`` (from 0), ``per_page`` (1 to 100, default 50)."""
    authorize(READ_USERS)
    number, size = _whole("page", 0), _whole("per_page", 50)
    page = services.administration.search(request.args.get("q", ""), number, size)
    return _no_store({"users": [_user(user) for user in page.users], "total": page.total,
                      "page": number, "per_page": size})


@bp.post("/users")
def create_user() -> tuple[Response, int]:
    """``{"email", "password"}``; the rules are the CLI's (``UserDirectory.create``)."""
    authorize(CREATE_USERS)
    body = _json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise InvalidRequest("Send {\"email\", \"password\"}, both strings.")
    return _no_store(_user(services.users.create(email, password))), 201


@bp.get("/users/<user_id>")
def read_user(user_id: str) -> Response:
    authorize(READ_USERS)
    return _no_store(_user(services.administration.user(user_id)))


@bp.delete("/users/<user_id>")
def delete_user(user_id: str) -> tuple[str, int]:
    authorize(DELETE_USERS)
    services.administration.delete(user_id)
    return "", 204


@bp.delete("/users/<user_id>/authenticators")
def reset_mfa(user_id: str) -> Response:
    """Every factor and recovery code removed, every refresh token revoked."""
    authorize(DELETE_AUTHENTICATORS)
    return _no_store({"removed": services.administration.reset_mfa(user_id)})


def _user(user: User) -> dict[str, Any]:
    return {"user_id": user.id, "email": user.email, "email_verified": user.email_verified,
            "created_at": user.created_at.isoformat()}


def _whole(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise InvalidRequest(f"{name} must be a whole number.")
    return int(raw)
