"""The MFA endpoints (README, API): associate, confirm, list, remove, recovery codes, challenge;
and the passwordless sign-in's ``/passkey/challenge`` (README, Passkeys).

The Bearer token is an access token (a JWT of ours) or an mfa_token (opaque); which one decides
what the caller may do (authserver.flows.factor_management). ``/mfa/challenge`` takes the
mfa_token in the body with client authentication, as the token endpoint does. Every answer is
``no-store``: it may carry a TOTP secret or recovery codes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from authserver.api.bearer import bearer_token, token_user
from authserver.api.responses import no_store
from authserver.authorization import ProtektRequest, body_parameters, json_object
from authserver.clients import DASHBOARD_CLIENT_ID, PASSKEY
from authserver.errors import (
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    UnauthorizedClient,
)
from authserver.extensions import authorization, services
from authserver.flows.factor_management import Confirmation, Enrollment, Principal
from authserver.grants.base import ProtektGrant
from authserver.mfa.settings import OTP, SMS, WEBAUTHN_FACTORS
from authserver.mfa.tickets import UNKNOWN
from authserver.models import Client

bp = Blueprint("mfa", __name__)
_UNUSABLE = "The mfa_token is unknown, used or expired. Log in again."


def _principal() -> Principal:
    """Who the Bearer token stands for: a user through an access token or an mfa_token."""
    token = bearer_token(request)
    ip = request.remote_addr or ""
    if token.count(".") == 2:  # a JWS compact serialization: an access token
        claims = services.access_tokens.verify(token, services.settings.issuer)
        if claims["aud"] not in (services.settings.issuer, [services.settings.issuer]):
            raise InvalidToken("This access token is also for another API; the /mfa endpoints "
                               "take one from a login without an audience (RFC 8707 §2).")
        return Principal(token_user(claims), claims["client_id"], ip,
                         frozenset(claims["scope"].split()),
                         tuple(claims.get("amr", ())))
    try:
        ticket, user = services.mfa.logins.open(token)
    except ExpiredToken:
        raise InvalidToken(_UNUSABLE) from None
    except InvalidGrant as refused:  # unknown or used; the user gone or blocked
        raise InvalidToken(_UNUSABLE if refused.description == UNKNOWN
                           else refused.description) from None
    if ticket.client_id == DASHBOARD_CLIENT_ID:  # the console's sign-in step, not an app's
        raise InvalidToken(_UNUSABLE)
    return Principal(user, ticket.client_id, ip, ticket=ticket)


def _body() -> dict[str, Any]:
    """The JSON object or form body; list members only in JSON."""
    if request.is_json:
        return json_object(request.get_data(cache=True))
    return body_parameters(request)


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{name}' is required and must be a string.")
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _string(body, name)


def _factor_asked(body: dict[str, Any]) -> str:
    """The factor of ``{"type"}`` (the guide) or ``{"authenticator_types"}`` (Auth0)."""
    if ("type" in body) == ("authenticator_types" in body):
        raise InvalidRequest("Send 'type' (otp, sms, webauthn-platform or webauthn-roaming) or "
                             "'authenticator_types', one of them.")
    if "type" in body:
        kind = _string(body, "type")
        if kind not in (OTP, SMS, *WEBAUTHN_FACTORS):
            raise InvalidRequest("'type' must be otp, sms, webauthn-platform or "
                                 "webauthn-roaming.")
        return kind
    types = body["authenticator_types"]
    types = [types] if isinstance(types, str) else types
    if types == [OTP] or types in ([kind] for kind in WEBAUTHN_FACTORS):
        return str(types[0])
    if types == ["oob"] and body.get("oob_channels") in (["sms"], "sms"):
        return SMS
    raise InvalidRequest(
        "'authenticator_types' must be [\"otp\"], [\"webauthn-platform\"], "
        "[\"webauthn-roaming\"], or [\"oob\"] with 'oob_channels' [\"sms\"]."
    )


def credential_text(value: Any) -> str | None:
    """A WebAuthn response as sent: a JSON object, or that object JSON-encoded in a string."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        return json.dumps(value)
    raise InvalidRequest("'credential' must be the browser's PublicKeyCredential as a JSON "
                         "object, or JSON-encoded in a string.")


@bp.post("/mfa/associate")
def associate() -> Response:
    who = _principal()
    body = _body()
    asked = Enrollment(_factor_asked(body), _optional_string(body, "name"),
                       _optional_string(body, "phone_number"))
    return no_store(services.flows.factor_management.associate(who, asked))


@bp.post("/mfa/authenticators/<authenticator_id>/confirm")
def confirm(authenticator_id: str) -> Response:
    who = _principal()
    body = _body()
    answer = Confirmation(*(_optional_string(body, name)
                            for name in ("otp", "binding_code", "oob_code")),
                          credential=credential_text(body.get("credential")))
    return no_store(services.flows.factor_management.confirm(who, authenticator_id, answer))


@bp.get("/mfa/authenticators")
def authenticators() -> Response:
    return no_store(services.flows.factor_management.listing(_principal()))


@bp.delete("/mfa/authenticators/<authenticator_id>")
def remove(authenticator_id: str) -> Response:
    services.flows.factor_management.remove(_principal(), authenticator_id)
    return Response(status=204)


@bp.post("/mfa/recovery-codes")
def recovery_codes() -> Response:
    codes = services.flows.factor_management.regenerate_recovery_codes(_principal())
    return no_store({"recovery_codes": codes})


def _client_request() -> tuple[ProtektRequest, Client]:
    """The request and its client, authenticated as at the token endpoint."""
    oauth_request = ProtektRequest(request)
    client = authorization.authenticate_client(
        oauth_request, ProtektGrant.TOKEN_ENDPOINT_AUTH_METHODS, "token"
    )
    return oauth_request, client


@bp.post("/mfa/challenge")
def challenge() -> Response:
    oauth_request, client = _client_request()
    params = oauth_request.form
    for name in ("mfa_token", "challenge_type"):
        if not params.get(name):
            raise InvalidRequest(f"Missing '{name}' parameter.")
    result = services.flows.mfa_challenge.run(
        params["mfa_token"], client, oauth_request.client_ip,
        params["challenge_type"], params.get("authenticator_id"),
    )
    return no_store(result)


@bp.post("/passkey/challenge")
def passkey_challenge() -> Response:
    """A passwordless sign-in's challenge (README, Passkeys): a passkey_session and the
    options for ``navigator.credentials.get``; the client must be allowed the passkey grant."""
    _, client = _client_request()
    if not client.check_grant_type(PASSKEY):
        raise UnauthorizedClient(f"This client may not use grant_type {PASSKEY}.")
    return no_store(services.flows.passkey_signin.challenge(client))
