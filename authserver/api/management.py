"""The management API (README, API): MFA settings, SMS credits, users (their profile claims,
authenticators and consents), clients (with their redirect URIs) and the audit trail, described
by an OpenAPI 3.1 document at ``/api/v2/openapi.json``.

Authorised by client_credentials access tokens (RFC 6749 §4.4) whose audience is
``{issuer}/api/v2/`` and whose scope names what each call needs (RFC 6750 §3.1:
``insufficient_scope``, 403). The rules live in the domain services (``MfaSettingsStore``,
``SmsCredits``, ``UserDirectory``, ``UserAdministration``, ``Consents``, ``ClientRegistry``),
which the CLI and the dashboard use too: this layer only reads requests and writes answers.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from authserver.accounts.users import PROFILE_CLAIMS, Profile
from authserver.api import openapi
from authserver.api.bearer import bearer_token
from authserver.api.params import whole_number
from authserver.api.responses import OPENAPI_MAX_AGE, cacheable, no_store
from authserver.authorization import json_object
from authserver.errors import InsufficientScope, InvalidRequest, InvalidToken
from authserver.extensions import services
from authserver.models import AuditEvent, Client, Consent, Group, User
from authserver.scopes import (
    CREATE_CLIENTS,
    CREATE_USERS,
    DELETE_AUTHENTICATORS,
    DELETE_CLIENTS,
    DELETE_USERS,
    MANAGEMENT_PATH,
    MANAGEMENT_SCOPES,
    READ_AUDIT,
    READ_CLIENTS,
    READ_GROUPS,
    READ_SETTINGS,
    READ_SMS_CREDITS,
    READ_USERS,
    UPDATE_CLIENTS,
    UPDATE_GROUPS,
    UPDATE_SETTINGS,
    UPDATE_SMS_CREDITS,
    UPDATE_USERS,
)

bp = Blueprint("management", __name__, url_prefix=MANAGEMENT_PATH.rstrip("/"))
# PATCH /users/{id}: the fields that may change, and the JSON type each must have; and the
# profile claims (strings, or null to clear), checked by Profile.
USER_CHANGES: dict[str, type] = {"email": str, "email_verified": bool, "password": str,
                                 "blocked": bool}
# PATCH /clients/{id}: these lists of strings, and first_party.
CLIENT_LISTS = ("grant_types", "redirect_uris", "post_logout_redirect_uris")
CLIENT_MFA = ("mfa_policy", "mfa_factors")  # README, MFA policies
GROUP_FIELDS = ("name", "description", "mfa_always", "mfa_factors")
NEW_CLIENT = ("name", "public", "scopes", "audiences", *CLIENT_LISTS, "first_party", *CLIENT_MFA)
_KINDS = {str: "a string", bool: "true or false"}


def authorize(scope: str) -> dict[str, Any]:
    """The claims of a machine client's token for this API holding ``scope``."""
    audience = services.settings.issuer + MANAGEMENT_PATH
    claims = services.access_tokens.verify(bearer_token(request), audience)
    if claims["sub"] != claims["client_id"]:
        raise InvalidToken("The management API takes a client_credentials token, not a user's.")
    if scope not in claims.get("scope", "").split():
        raise InsufficientScope(f"This call needs scope {scope}.")
    return claims


def _holding(held: list[str], scopes: list[str]) -> None:
    """InsufficientScope unless the token holds every management scope of the client it makes,
    re-keys or re-grants: else ``create:clients`` or ``update:clients`` alone would give its
    holder a client, and so a token, with every management scope."""
    lacking = [scope for scope in scopes if scope in MANAGEMENT_SCOPES and scope not in held]
    if lacking:
        raise InsufficientScope(f"That client has management scopes this token lacks, such as "
                                f"{lacking[0]}.")


def authorize_change(scope: str, user_id: str) -> None:
    """``authorize(scope)`` for a change to a user who is not a dashboard administrator."""
    authorize(scope)
    services.administration.outside_console(user_id)


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise InvalidRequest("Send a JSON object (Content-Type: application/json).")
    return json_object(request.get_data(cache=True))


@bp.get("/mfa/settings")
def read_settings() -> Response:
    authorize(READ_SETTINGS)
    return no_store(services.mfa.settings.load().as_dict())


@bp.patch("/mfa/settings")
def update_settings() -> Response:
    """Change some settings; all are checked together, nothing is stored if one is wrong. They
    apply from the next request on every server process (the row is read per request)."""
    authorize(UPDATE_SETTINGS)
    changes = _json_body()
    if not changes:  # minProperties: 1 in the OpenAPI document
        raise InvalidRequest("Send at least one MFA setting to change.")
    return no_store(services.flows.security_settings.update(**changes).as_dict())


@bp.get("/sms/credits")
def read_credits() -> Response:
    authorize(READ_SMS_CREDITS)
    return no_store({"balance": services.mfa.sms_credits.balance()})


@bp.post("/sms/credits")
def top_up_credits() -> Response:
    """``{"add": n}``: a top-up, checked and audited by ``SmsCredits.top_up``."""
    authorize(UPDATE_SMS_CREDITS)
    body = _json_body()
    if set(body) != {"add"}:
        raise InvalidRequest("Send {\"add\": n}, the number of credits to add.")
    return no_store({"balance": services.flows.security_settings.top_up(body["add"])})


@bp.get("/users")
def search_users() -> Response:
    """``?q=`` (part of the email), ``page`` (from 0), ``per_page`` (1 to 100, default 50)."""
    authorize(READ_USERS)
    number, size = _whole("page", 0), _whole("per_page", 50)
    page = services.administration.search(request.args.get("q", ""), number, size)
    return no_store({"users": [_user(user) for user in page.users], "total": page.total,
                      "page": number, "per_page": size})


@bp.post("/users")
def create_user() -> tuple[Response, int]:
    """``{"email", "password"}`` and any profile claims; the rules are the CLI's
    (``UserDirectory.create``)."""
    authorize(CREATE_USERS)
    body = _json_body()
    _known(body, ("email", "password", *PROFILE_CLAIMS), "user")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise InvalidRequest("Send {\"email\", \"password\"}, both strings.")
    profile = _profile(body)
    return no_store(_user(services.administration.create(email, password, profile=profile))), 201


@bp.get("/users/<user_id>")
def read_user(user_id: str) -> Response:
    authorize(READ_USERS)
    return no_store(_user(services.administration.user(user_id)))


@bp.patch("/users/<user_id>")
def update_user(user_id: str) -> Response:
    """Any of ``{"email", "email_verified", "password", "blocked"}`` and the profile claims,
    by the rules of ``UserAdministration.update``; every field is checked before anything is
    written."""
    authorize_change(UPDATE_USERS, user_id)
    body = _json_body()
    _any_of(body, [*USER_CHANGES, *PROFILE_CLAIMS], "user")
    profile = _profile(body)
    changes = _typed({name: value for name, value in body.items() if name in USER_CHANGES},
                     USER_CHANGES)
    return no_store(_user(services.administration.update(user_id, **changes, profile=profile)))


@bp.delete("/users/<user_id>")
def delete_user(user_id: str) -> tuple[str, int]:
    authorize_change(DELETE_USERS, user_id)
    services.administration.delete(user_id)
    return "", 204


@bp.get("/users/<user_id>/authenticators")
def list_authenticators(user_id: str) -> Response:
    """The user's factors as ``GET /mfa/authenticators`` shows them (README, API)."""
    authorize(READ_USERS)
    return no_store({"authenticators": services.administration.authenticators(user_id)})


@bp.delete("/users/<user_id>/authenticators")
def reset_mfa(user_id: str) -> Response:
    """Every factor and recovery code removed, every refresh token revoked."""
    authorize_change(DELETE_AUTHENTICATORS, user_id)
    return no_store({"removed": services.administration.reset_mfa(user_id)})


@bp.delete("/users/<user_id>/authenticators/<authenticator_id>")
def remove_authenticator(user_id: str, authenticator_id: str) -> tuple[str, int]:
    """One factor removed; the last active one takes the recovery codes with it."""
    authorize_change(DELETE_AUTHENTICATORS, user_id)
    services.administration.remove_authenticator(user_id, authenticator_id)
    return "", 204


@bp.get("/users/<user_id>/consents")
def list_consents(user_id: str) -> Response:
    """The clients the user allowed scopes on the consent page (OIDC Core §3.1.2.4)."""
    authorize(READ_USERS)
    services.administration.user(user_id)
    consents = services.consents.of_user(user_id)
    names = services.clients.names(consent.client_id for consent in consents)
    return no_store({"consents": [_consent(consent, names) for consent in consents]})


@bp.delete("/users/<user_id>/consents/<client_id>")
def revoke_consent(user_id: str, client_id: str) -> tuple[str, int]:
    """Forget the consent: the client asks the user again at the next sign-in."""
    authorize_change(UPDATE_USERS, user_id)
    services.administration.revoke_consent(user_id, client_id)
    return "", 204


@bp.get("/users/<user_id>/trusted-devices")
def list_trusted_devices(user_id: str) -> Response:
    """The browsers the user asked to be remembered (README, MFA policies)."""
    authorize(READ_USERS)
    devices = services.administration.trusted_devices(user_id)
    return no_store({"trusted_devices": [
        {"id": d.id, "label": d.label, "created_at": d.created_at.isoformat(),
         "expires_at": d.expires_at.isoformat()} for d in devices]})


@bp.delete("/users/<user_id>/trusted-devices", defaults={"device_id": None})
@bp.delete("/users/<user_id>/trusted-devices/<device_id>")
def forget_devices(user_id: str, device_id: str | None) -> tuple[str, int]:
    """Forget every remembered browser of the user, or the one named."""
    authorize_change(UPDATE_USERS, user_id)
    services.administration.forget_device(user_id, device_id)
    return "", 204


@bp.get("/clients")
def list_clients() -> Response:
    authorize(READ_CLIENTS)
    return no_store({"clients": [_client(c) for c in services.clients.listing()]})


@bp.post("/clients")
def create_client() -> tuple[Response, int]:
    """``{"name", "public"?, "grant_types"?, "scopes"?, "audiences"?, "redirect_uris"?,
    "post_logout_redirect_uris"?, "first_party"?}``; the secret is in this answer only
    (RFC 6749 §2.3.1: it is stored as a hash)."""
    held = authorize(CREATE_CLIENTS)["scope"].split()
    body = _json_body()
    _known(body, NEW_CLIENT, "client")
    if not isinstance(body.get("name"), str) or not isinstance(body.get("public", False), bool):
        raise InvalidRequest("name must be a string and public true or false.")
    scopes = _strings(body, "scopes")
    _holding(held, scopes)
    client, secret = services.flows.client_administration.create(
        body["name"], public=body.get("public", False),
        grant_types=_strings(body, "grant_types") or None,
        scopes=scopes, audiences=_strings(body, "audiences"),
        redirect_uris=_strings(body, "redirect_uris"),
        post_logout_redirect_uris=_strings(body, "post_logout_redirect_uris"),
        first_party=_flag(body, "first_party", True), **_client_mfa(body))
    return no_store({**_client(client), "client_secret": secret}), 201


@bp.get("/clients/<client_id>")
def read_client(client_id: str) -> Response:
    authorize(READ_CLIENTS)
    return no_store(_client(services.clients.get(client_id)))


@bp.patch("/clients/<client_id>")
def update_client(client_id: str) -> Response:
    """Any of ``{"grant_types", "redirect_uris", "post_logout_redirect_uris",
    "first_party"}``, checked together by ``ClientRegistry.update``; they apply from the
    client's next request."""
    _holding(authorize(UPDATE_CLIENTS)["scope"].split(), services.clients.get(client_id).scopes)
    body = _json_body()
    _any_of(body, (*CLIENT_LISTS, "first_party", *CLIENT_MFA), "client")
    changes: dict[str, Any] = {name: _strings(body, name) for name in CLIENT_LISTS
                               if name in body}
    if "first_party" in body:
        changes["first_party"] = _flag(body, "first_party", True)
    changes.update(_client_mfa(body))
    return no_store(_client(services.flows.client_administration.update(client_id, **changes)))


@bp.post("/clients/<client_id>/rotate-secret")
def rotate_client_secret(client_id: str) -> Response:
    _holding(authorize(UPDATE_CLIENTS)["scope"].split(), services.clients.get(client_id).scopes)
    return no_store({"client_id": client_id,
                      "client_secret":
                          services.flows.client_administration.replace_secret(client_id)})


@bp.delete("/clients/<client_id>")
def delete_client(client_id: str) -> tuple[str, int]:
    authorize(DELETE_CLIENTS)
    services.flows.client_administration.delete(client_id)
    return "", 204


@bp.get("/groups")
def list_groups() -> Response:
    authorize(READ_GROUPS)
    return no_store({"groups": [_group(g) for g in services.mfa.groups.all()]})


@bp.post("/groups")
def create_group() -> tuple[Response, int]:
    """``{"name", "description"?, "mfa_always"?, "mfa_factors"?}`` (README, MFA policies)."""
    authorize(UPDATE_GROUPS)
    body = _json_body()
    _known(body, GROUP_FIELDS, "group")
    rule = {name: body[name] for name in GROUP_FIELDS if name in body and name != "name"}
    group = services.flows.group_administration.create(body.get("name"), **rule)
    return no_store(_group(group)), 201


@bp.get("/groups/<group_id>")
def read_group(group_id: str) -> Response:
    authorize(READ_GROUPS)
    return no_store(_group(services.mfa.groups.get(group_id)))


@bp.patch("/groups/<group_id>")
def update_group(group_id: str) -> Response:
    authorize(UPDATE_GROUPS)
    body = _json_body()
    _any_of(body, GROUP_FIELDS, "group")
    return no_store(_group(services.flows.group_administration.update(group_id, **body)))


@bp.delete("/groups/<group_id>")
def delete_group(group_id: str) -> tuple[str, int]:
    authorize(UPDATE_GROUPS)
    services.flows.group_administration.delete(group_id)
    return "", 204


@bp.get("/groups/<group_id>/members")
def list_members(group_id: str) -> Response:
    authorize(READ_GROUPS)
    members = services.mfa.groups.members(group_id)
    return no_store({"members": [{"user_id": u.id, "email": u.email} for u in members]})


@bp.put("/groups/<group_id>/members/<user_id>")
def add_member(group_id: str, user_id: str) -> tuple[str, int]:
    authorize(UPDATE_GROUPS)
    services.flows.group_administration.add_member(group_id, user_id)
    return "", 204


@bp.delete("/groups/<group_id>/members/<user_id>")
def remove_member(group_id: str, user_id: str) -> tuple[str, int]:
    authorize(UPDATE_GROUPS)
    services.flows.group_administration.remove_member(group_id, user_id)
    return "", 204


@bp.get("/audit-events")
def audit_events() -> Response:
    """Newest first: ``?user_id=``, ``type=``, ``before=`` (an event id), ``limit=`` (1-100)."""
    authorize(READ_AUDIT)
    args = request.args
    before = _whole("before", 0) if "before" in args else None
    events = services.audit.latest(user_id=args.get("user_id"), event_type=args.get("type"),
                                   before=before, limit=_whole("limit", 50))
    return no_store({"events": [_event(event) for event in events]})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API; public, like the discovery document."""
    return cacheable(openapi.document(services.settings.issuer), OPENAPI_MAX_AGE)


def _event(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "user_id": event.user_id,
            "client_id": event.client_id, "ip": event.ip,
            "created_at": event.created_at.isoformat(), "detail": event.detail}


def _client(client: Client) -> dict[str, Any]:
    return {"client_id": client.client_id, "name": client.name, "public": client.is_public,
            "grant_types": client.grant_types, "scopes": client.scopes,
            "audiences": client.audiences, "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "first_party": client.first_party, "mfa_policy": client.mfa_policy,
            "mfa_factors": client.mfa_factors, "created_at": client.created_at.isoformat()}


def _client_mfa(body: dict[str, Any]) -> dict[str, Any]:
    """The MFA rule's fields body sends (checked by the client administration flow)."""
    rule: dict[str, Any] = {}
    if "mfa_policy" in body:
        if not isinstance(body["mfa_policy"], str):
            raise InvalidRequest("mfa_policy must be a string.")
        rule["mfa_policy"] = body["mfa_policy"]
    if "mfa_factors" in body:
        rule["mfa_factors"] = _strings(body, "mfa_factors")
    return rule


def _group(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "description": group.description,
            "mfa_always": group.mfa_always, "mfa_factors": group.mfa_factors,
            "created_at": group.created_at.isoformat()}


def _consent(consent: Consent, names: dict[str, str]) -> dict[str, Any]:
    return {"client_id": consent.client_id, "client_name": names.get(consent.client_id, ""),
            "scopes": consent.scopes, "granted_at": consent.granted_at.isoformat()}


def _known(body: dict[str, Any], names: Collection[str], what: str) -> None:
    """InvalidRequest naming the first member of body that is not one of names."""
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise InvalidRequest(f"Unknown {what} field '{unknown[0]}'.")


def _any_of(body: dict[str, Any], names: Collection[str], what: str) -> None:
    """InvalidRequest unless body names one or more of names, and nothing else."""
    _known(body, names, what)
    if not body:
        raise InvalidRequest(f"Send at least one of {', '.join(names)}.")


def _typed(body: dict[str, Any], fields: dict[str, type]) -> dict[str, Any]:
    """body, each of its fields of its type; InvalidRequest naming the first that is not."""
    wrong = [name for name, value in body.items() if not isinstance(value, fields[name])]
    if wrong:
        raise InvalidRequest(f"{wrong[0]} must be {_KINDS[fields[wrong[0]]]}.")
    return body


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false.")
    return value


def _profile(body: dict[str, Any]) -> Profile:
    """The profile claims of body, checked (OIDC Core §5.1); null or "" clears one."""
    return Profile.checked({name: value for name, value in body.items()
                            if name in PROFILE_CLAIMS})


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{name} must be a list of strings.")
    return value


def _user(user: User) -> dict[str, Any]:
    """A user as the API shows one, profile claims null when unset; never the password hash,
    never ``is_admin``."""
    return {"user_id": user.id, "email": user.email, "email_verified": user.email_verified,
            "created_at": user.created_at.isoformat(), "blocked": user.blocked,
            "blocked_at": _moment(user.blocked_at),
            **{name: getattr(user, name) for name in PROFILE_CLAIMS},
            "updated_at": _moment(user.updated_at)}


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _whole(name: str, default: int) -> int:
    """The query parameter ``name``, a whole number within the bounds its schema in the
    OpenAPI document gives (one source for both); ``default`` when it is absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    schema = openapi.query_schema(name)
    low, high = schema.get("minimum", 0), schema["maximum"]
    number = whole_number(raw)
    if number is None and not (raw.isascii() and raw.strip().isdigit()):
        raise InvalidRequest(f"{name} must be a whole number.")
    if number is None or not low <= number <= high:  # None: more digits than any bound
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}.")
    return number
