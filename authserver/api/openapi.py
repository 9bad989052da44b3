"""The OpenAPI 3.1 description of the management API, served at ``GET /api/v2/openapi.json``.

Written by hand, as a contract is; the tests hold it to the code: its operations are exactly the
management blueprint's routes, each operation's scope is the one its view asks for, the answers
of the running API match its schemas, and the document validates against OpenAPI 3.1. The MFA
settings' schema is read from :class:`MfaSettings`, so a new setting appears here by itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from authserver.accounts.addresses import MAX_EMAIL_LENGTH
from authserver.accounts.users import PROFILE_CLAIMS
from authserver.api.params import MAX_DIGITS
from authserver.clients import (
    AUTH0_ALIASES,
    CLIENT_CREDENTIALS,
    GRANT_TYPES,
    MAX_AUDIENCE_LENGTH,
    MAX_URI_LENGTH,
    MAX_URIS,
    SHORT_NAMES,
)
from authserver.mfa.decision import APP_POLICIES
from authserver.mfa.groups import NAMEABLE_FACTORS
from authserver.mfa.settings import (
    BOUNDS,
    FACTORS,
    OTP,
    POLICIES,
    SMS,
    USER_VERIFICATIONS,
    WEBAUTHN_FACTORS,
    MfaSettings,
)
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
from authserver.sms import template
from authserver.sms.credits import MAX_TOP_UP

SCHEME = "management"  # the name of the security scheme below
MAX_QUERY_NUMBER = 10 ** MAX_DIGITS - 1  # the largest page or event id a query may name
JSON = "application/json"
# What strings may hold (authserver.text): no control character in a name, an id, a query or an
# address; free text may hold tabs and line breaks.
TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
NAME = {"type": "string", "pattern": "^[^\\u0000-\\u001f\\u007f]*$"}

SCOPE_TEXT = {
    READ_SETTINGS: "Read the MFA settings",
    UPDATE_SETTINGS: "Change the MFA settings",
    READ_SMS_CREDITS: "Read the SMS credit balance",
    UPDATE_SMS_CREDITS: "Top up the SMS credits",
    READ_USERS: "Search and read users, their authenticators and their consents",
    CREATE_USERS: "Create users",
    UPDATE_USERS: "Change a user's email, password, profile and blocked state; revoke "
                  "their consents",
    DELETE_USERS: "Delete users",
    DELETE_AUTHENTICATORS: "Remove a user's authenticators, one or all",
    READ_CLIENTS: "List and read clients",
    CREATE_CLIENTS: "Create clients",
    UPDATE_CLIENTS: "Change a client's grant types, redirect URIs and first-party flag; "
                    "rotate its secret",
    DELETE_CLIENTS: "Delete clients",
    READ_AUDIT: "Read the audit trail",
    READ_GROUPS: "List and read groups and their members",
    UPDATE_GROUPS: "Create, change and delete groups and their MFA rules; add and remove "
                   "members",
}

# status → (component name, error code, what it means); bodies follow RFC 6749 §5.2.
ERRORS = {
    400: ("BadRequest", "invalid_request",
          "A parameter or field is missing, unknown or wrong; nothing was changed."),
    401: ("Unauthorized", "invalid_token",
          "No access token, or one that is expired, revoked, not for this API or not a "
          "client's (RFC 6750 §3.1)."),
    403: ("Forbidden", "insufficient_scope",
          "The access token lacks the scope this call needs (RFC 6750 §3.1); or, as "
          "access_denied, the user to change is a dashboard administrator."),
    404: ("NotFound", "not_found", "No such user, authenticator, client or consent."),
    409: ("Conflict", "conflict", "Another user has this email address (in any case)."),
    503: ("Unavailable", "temporarily_unavailable",
          "The database or Redis cannot be reached; retry after Retry-After seconds."),
}
_ALWAYS = (400, 401, 403, 503)  # what any call may answer (400: a control character in the URL)
_HEADERS = {
    401: {"WWW-Authenticate": "Bearer"},
    403: {"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
    503: {"Retry-After": "Seconds to wait"},
}


def document(issuer: str) -> dict[str, Any]:
    """The whole document, for a server whose issuer URL is ``issuer``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Protekt management API",
            "version": "2",
            "description": (
                "Users, their authenticators and consents, clients, MFA settings, SMS credits "
                "and the audit trail. Every call but this document's takes a "
                "client_credentials access token (RFC 6749 §4.4) for the audience "
                f"{issuer}{MANAGEMENT_PATH} holding the call's scope. Bodies are JSON; "
                "answers are no-store."
            ),
        },
        "servers": [{"url": issuer + MANAGEMENT_PATH.rstrip("/")}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "responses": {name: _error_response(status) for status, (name, _, _) in ERRORS.items()},
            "parameters": _PARAMETERS,
            "securitySchemes": {SCHEME: _security_scheme(issuer)},
        },
    }


def _security_scheme(issuer: str) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "description": f"Ask the token endpoint with audience={issuer}{MANAGEMENT_PATH}.",
        "flows": {"clientCredentials": {
            "tokenUrl": f"{issuer}/oauth/token",
            "scopes": {scope: SCOPE_TEXT[scope] for scope in MANAGEMENT_SCOPES},
        }},
    }


def _paths() -> dict[str, Any]:
    return {
        "/mfa/settings": {
            "get": _operation("readMfaSettings", "Every MFA setting", READ_SETTINGS,
                              ok=_answer(200, "The settings", "MfaSettings")),
            "patch": _operation(
                "updateMfaSettings", "Change some MFA settings; all are checked together, "
                "and apply from the next request", UPDATE_SETTINGS,
                body="MfaSettingsChanges", ok=_answer(200, "The settings now", "MfaSettings"),
                errors=(400,)),
        },
        "/sms/credits": {
            "get": _operation("readSmsCredits", "The SMS credit balance", READ_SMS_CREDITS,
                              ok=_answer(200, "The balance", "Balance")),
            "post": _operation("topUpSmsCredits", "Add SMS credits (audited)",
                               UPDATE_SMS_CREDITS, body="TopUp",
                               ok=_answer(200, "The new balance", "Balance"), errors=(400,)),
        },
        "/users": {
            "get": _operation(
                "searchUsers", "Users whose email contains q (any case), in email order",
                READ_USERS, parameters=("q", "page", "per_page"),
                ok=_answer(200, "One page of users", "UserPage"), errors=(400,)),
            "post": _operation("createUser", "Create a user (the rules of protekt create-user)",
                               CREATE_USERS, body="NewUser",
                               ok=_answer(201, "The user", "User"), errors=(400, 409)),
        },
        "/users/{user_id}": {
            "get": _operation("readUser", "One user", READ_USERS, parameters=("user_id",),
                              ok=_answer(200, "The user", "User"), errors=(404,)),
            "patch": _operation(
                "updateUser", "Change a user's email, verified flag, password or profile "
                "claims, or block or unblock the user; a new password or a block revokes every "
                "refresh token",
                UPDATE_USERS, parameters=("user_id",), body="UserChanges",
                ok=_answer(200, "The user now", "User"), errors=(400, 404, 409)),
            "delete": _operation(
                "deleteUser", "Delete a user with the user's factors, codes and refresh tokens",
                DELETE_USERS, parameters=("user_id",), ok=_nothing("Deleted"), errors=(404,)),
        },
        "/users/{user_id}/authenticators": {
            "get": _operation(
                "listAuthenticators", "The user's authenticators as GET /mfa/authenticators "
                "shows them: phone numbers masked, recovery codes as one entry",
                READ_USERS, parameters=("user_id",),
                ok=_answer(200, "The authenticators", "AuthenticatorList"), errors=(404,)),
            "delete": _operation(
                "resetMfa", "Remove every authenticator and recovery code and revoke every "
                "refresh token of the user", DELETE_AUTHENTICATORS, parameters=("user_id",),
                ok=_answer(200, "How many authenticators were removed", "Reset"),
                errors=(404,)),
        },
        "/users/{user_id}/authenticators/{authenticator_id}": {
            "delete": _operation(
                "removeAuthenticator", "Remove one authenticator; removing the last active one "
                "voids the recovery codes", DELETE_AUTHENTICATORS,
                parameters=("user_id", "authenticator_id"), ok=_nothing("Removed"),
                errors=(404,)),
        },
        "/users/{user_id}/consents": {
            "get": _operation(
                "listConsents", "The clients the user gave consent to, oldest first",
                READ_USERS, parameters=("user_id",),
                ok=_answer(200, "The consents", "ConsentList"), errors=(404,)),
        },
        "/users/{user_id}/trusted-devices": {
            "get": _operation(
                "listTrustedDevices", "The browsers the user asked to be remembered after a "
                "second factor, oldest first", READ_USERS, parameters=("user_id",),
                ok=_answer(200, "The remembered browsers", "TrustedDeviceList"),
                errors=(404,)),
            "delete": _operation(
                "forgetTrustedDevices", "Forget every remembered browser: the next sign-in "
                "asks the second factor again", UPDATE_USERS, parameters=("user_id",),
                ok=_nothing("Forgotten"), errors=(404,)),
        },
        "/users/{user_id}/trusted-devices/{device_id}": {
            "delete": _operation(
                "forgetTrustedDevice", "Forget one remembered browser", UPDATE_USERS,
                parameters=("user_id", "device_id"), ok=_nothing("Forgotten"), errors=(404,)),
        },
        "/users/{user_id}/consents/{client_id}": {
            "delete": _operation(
                "revokeConsent", "Forget the user's consent to the client: it asks again at "
                "the next sign-in", UPDATE_USERS, parameters=("user_id", "client_id"),
                ok=_nothing("Revoked"), errors=(404,)),
        },
        "/clients": {
            "get": _operation("listClients", "Every client, oldest first", READ_CLIENTS,
                              ok=_answer(200, "The clients", "ClientList")),
            "post": _operation(
                "createClient", "Create a client; its secret is in this answer only",
                CREATE_CLIENTS, body="NewClient",
                ok=_answer(201, "The client and its secret", "ClientWithSecret"),
                errors=(400,)),
        },
        "/clients/{client_id}": {
            "get": _operation("readClient", "One client, never its secret", READ_CLIENTS,
                              parameters=("client_id",), ok=_answer(200, "The client", "Client"),
                              errors=(404,)),
            "patch": _operation(
                "updateClient", "Replace the client's grant types, redirect URIs or "
                "first-party flag; all are checked together", UPDATE_CLIENTS,
                parameters=("client_id",), body="ClientChanges",
                ok=_answer(200, "The client now", "Client"), errors=(400, 404)),
            "delete": _operation("deleteClient", "Delete a client with its refresh tokens",
                                 DELETE_CLIENTS, parameters=("client_id",),
                                 ok=_nothing("Deleted"), errors=(404,)),
        },
        "/clients/{client_id}/rotate-secret": {
            "post": _operation(
                "rotateClientSecret", "A new secret, shown once; the old one stops working",
                UPDATE_CLIENTS, parameters=("client_id",),
                ok=_answer(200, "The new secret", "Secret"), errors=(400, 404)),
        },
        "/groups": {
            "get": _operation("listGroups", "Every group, by name", READ_GROUPS,
                              ok=_answer(200, "The groups", "GroupList")),
            "post": _operation(
                "createGroup", "Create a group and its MFA rule", UPDATE_GROUPS,
                body="NewGroup", ok=_answer(201, "The group", "Group"), errors=(400,)),
        },
        "/groups/{group_id}": {
            "get": _operation("readGroup", "One group", READ_GROUPS, parameters=("group_id",),
                              ok=_answer(200, "The group", "Group"), errors=(404,)),
            "patch": _operation(
                "updateGroup", "Change the group's name, description or MFA rule",
                UPDATE_GROUPS, parameters=("group_id",), body="GroupChanges",
                ok=_answer(200, "The group now", "Group"), errors=(400, 404)),
            "delete": _operation("deleteGroup", "Delete a group (its members stay)",
                                 UPDATE_GROUPS, parameters=("group_id",),
                                 ok=_nothing("Deleted"), errors=(404,)),
        },
        "/groups/{group_id}/members": {
            "get": _operation("listGroupMembers", "The group's members, by email", READ_GROUPS,
                              parameters=("group_id",),
                              ok=_answer(200, "The members", "MemberList"), errors=(404,)),
        },
        "/groups/{group_id}/members/{user_id}": {
            "put": _operation("addGroupMember", "Add a user to the group (again: no change)",
                              UPDATE_GROUPS, parameters=("group_id", "user_id"),
                              ok=_nothing("A member"), errors=(404,)),
            "delete": _operation("removeGroupMember", "Take a user out of the group",
                                 UPDATE_GROUPS, parameters=("group_id", "user_id"),
                                 ok=_nothing("Not a member"), errors=(404,)),
        },
        "/audit-events": {
            "get": _operation(
                "readAuditEvents", "The audit trail, newest first", READ_AUDIT,
                parameters=("user_id_filter", "type", "before", "limit"),
                ok=_answer(200, "One page of events", "AuditEventList"), errors=(400,)),
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapiDocument",
                "summary": "This document; no access token needed",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI 3.1 document",
                                      "content": {JSON: {"schema": {"type": "object"}}}}},
            },
        },
    }


def _operation(operation_id: str, summary: str, scope: str, *, ok: dict[str, Any],
               parameters: tuple[str, ...] = (), body: str | None = None,
               errors: tuple[int, ...] = ()) -> dict[str, Any]:
    """One operation behind ``scope``; it may answer ``ok`` or an error of ``errors``, and
    401, 403 and 503 as every authorised call may."""
    responses = dict(ok)
    for status in sorted({*errors, *_ALWAYS}):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "security": [{SCHEME: [scope]}],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in parameters]
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {JSON: {"schema": schema_ref(body)}}}
    return operation


def _answer(status: int, description: str, schema: str) -> dict[str, Any]:
    return {str(status): {"description": description,
                          "content": {JSON: {"schema": schema_ref(schema)}}}}


def _nothing(description: str) -> dict[str, Any]:
    return {"204": {"description": description}}


def schema_ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def _error_response(status: int) -> dict[str, Any]:
    _, code, meaning = ERRORS[status]
    response: dict[str, Any] = {
        "description": meaning,
        "content": {JSON: {"schema": schema_ref("Error"),
                           "example": {"error": code, "error_description": meaning}}},
    }
    if status in _HEADERS:
        response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                               for name, text in _HEADERS[status].items()}
    return response


def _in_path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": NAME}


def _in_query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_PARAMETERS = {
    "user_id": _in_path("user_id", "The user's id"),
    "authenticator_id": _in_path("authenticator_id", "The authenticator's id"),
    "client_id": _in_path("client_id", "The client's id"),
    "group_id": _in_path("group_id", "The group's id"),
    "device_id": _in_path("device_id", "The remembered browser's id"),
    "q": _in_query("q", "Part of the email, any case; % and _ are taken literally", NAME),
    "page": _in_query("page", "Page number from 0",
                      {"type": "integer", "minimum": 0, "maximum": MAX_QUERY_NUMBER}),
    "per_page": _in_query("per_page", "Users per page",
                          {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    "user_id_filter": _in_query("user_id", "Only this user's events", NAME),
    "type": _in_query("type", "Only events of this type, e.g. login.success", NAME),
    "before": _in_query("before", "Only events older than this event id (paging back)",
                        {"type": "integer", "minimum": 1, "maximum": MAX_QUERY_NUMBER}),
    "limit": _in_query("limit", "Events per page",
                       {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
}



def query_schema(name: str) -> dict[str, Any]:
    """The schema of the query parameter ``name``: the management views read their bounds
    here, so the document and the code cannot disagree."""
    return dict(next(p["schema"] for p in _PARAMETERS.values()
                     if p["in"] == "query" and p["name"] == name))


_STRING = {"type": "string", "pattern": TEXT}
_STRINGS = {"type": "array", "items": _STRING}


def _any_case(word: str) -> str:
    """A pattern matching word in any case (JSON Schema patterns have no case flag)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


# Domains reserved for special use (RFC 6761) cannot receive mail: email-validator's list.
_SPECIAL_USE = "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
_EMAIL = {"type": "string", "format": "email", "minLength": 3, "maxLength": MAX_EMAIL_LENGTH,
          # a local part, and a domain of dot-separated labels of 1 to 63 characters (RFC 1035)
          "pattern": f"^(?!.*[@.]({_SPECIAL_USE})$)"
                     "[^@\\s\\u0000-\\u001f\\u007f-\\u009f]{1,64}@"
                     "([^@.\\s\\u0000-\\u001f\\u007f-\\u009f]{1,63}\\.)+"
                     "[^@.\\s\\u0000-\\u001f\\u007f-\\u009f0-9]{2,63}$",
          "description": "An address in one script (look-alike addresses are refused)"}
_GRANT_TYPE = {"enum": [*GRANT_TYPES, *SHORT_NAMES, *AUTH0_ALIASES]}
_SCOPE = {"type": "string", "pattern": "^[\\u0021\\u0023-\\u005b\\u005d-\\u007e]+$",
          "description": "A scope token (RFC 6749 §3.3): printable ASCII without spaces, quotes "
                         "or backslashes"}
_MOMENT = {"type": "string", "format": "date-time"}
_MAYBE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_URIS = {"type": "array", "maxItems": MAX_URIS,
         "items": {**NAME, "format": "uri", "maxLength": MAX_URI_LENGTH},
         "description": "Exact URIs (one given twice is kept once) without fragment or "
                        "wildcard: https, http on 127.0.0.1, "
                        "[::1] or localhost, or a private-use scheme with a dot such as "
                        "com.example.app:/callback"}
# README, MFA policies: a factor list names factors, or "phishing-resistant" for the passkeys.
_FACTOR_LIST = {"type": "array", "items": {"enum": list(NAMEABLE_FACTORS)},
                "description": "The factors that may answer (empty: any the deployment has on)"}
_CLIENT_MFA = {
    "mfa_policy": {"enum": list(APP_POLICIES), "default": "inherit", "description": (
        "inherit: the deployment's policy; always; never (unless a group or acr_values asks); "
        "adaptive: by the login's risk")},
    "mfa_factors": _FACTOR_LIST,
}
_CLIENT_SIGN_IN = {  # RFC 6749 §3.1.2; OIDC RP-Initiated Logout 1.0 §3.1
    "redirect_uris": {**_URIS, "description": "Where the sign-in may return users. "
                      + _URIS["description"]},
    "post_logout_redirect_uris": {**_URIS, "description": "Where sign-out may return "
                                  "users. " + _URIS["description"]},
    "first_party": {"type": "boolean", "default": True,
                    "description": "false: a third-party app, whose users are asked for "
                                   "consent"},
}
_PROFILE_NOTES = {"picture": "An https URL", "locale": "A BCP 47 tag, such as en or pt-BR"}


_NO_CC = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"  # no Unicode control (Cc): C0, DEL, C1
# What the profile checks accept (authserver.accounts.users, which trims); "" clears.
_PROFILE_PATTERNS = {
    "picture": "^ *(https://[A-Za-z0-9][A-Za-z0-9.-]*(/[\\u0021-\\u007e]*)?)? *$",
    "locale": "^ *([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)? *$",
}


def _profile_schema(*, nullable: bool) -> dict[str, Any]:
    """The OIDC Core §5.1 claims an administrator sets; ``nullable`` for answers and changes
    (null: unset, or clear it)."""
    return {name: {"type": ["string", "null"] if nullable else "string", "maxLength": limit,
                   "pattern": _PROFILE_PATTERNS.get(name, _NO_CC),
                   **({"description": _PROFILE_NOTES[name]} if name in _PROFILE_NOTES else {})}
            for name, limit in PROFILE_CLAIMS.items()}


def _object(properties: dict[str, Any], *, required: tuple[str, ...] | None = None,
            closed: bool = False) -> dict[str, Any]:
    """An object schema; ``required`` defaults to every property; ``closed`` refuses others
    (request bodies: an unknown field is a 400)."""
    schema: dict[str, Any] = {
        "type": "object", "properties": properties,
        "required": list(properties if required is None else required),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


# The MFA settings whose schema is more than their type (authserver.mfa.settings checks them).
_SETTING_SCHEMAS: dict[str, dict[str, Any]] = {
    "factors": {"type": "array", "items": {"enum": list(FACTORS)},
                "contains": {"enum": [OTP, SMS, *WEBAUTHN_FACTORS]}, "description": "At least "
                "one factor users can enroll (otp, sms, webauthn-platform or webauthn-roaming); "
                "to stop MFA, switch it off"},
    "policy": {"enum": list(POLICIES)},
    "webauthn_user_verification": {"enum": list(USER_VERIFICATIONS)},
    "sms_template": {**_STRING, "maxLength": template.MAX_LENGTH,
                     "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*"
                                "\\{code\\}[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$",
                     "description": "Holds {code}; may hold {issuer} and {minutes}; at most "
                                    f"{template.MAX_SEGMENTS} SMS segments once filled in"},
    "totp_issuer": {  # shown in authenticator apps: no ':' (the label's separator)
        "type": "string", "minLength": 1, "maxLength": 64,
        "pattern": "^[^:\\s\\u0000-\\u001f\\u007f]([^:\\u0000-\\u001f\\u007f]*"
                   "[^:\\s\\u0000-\\u001f\\u007f])?$"},
    "sms_allowed_countries": {"type": "array",
                              "items": {"enum": sorted(phonenumbers.SUPPORTED_REGIONS)}},
}


def _setting_schema(name: str, default: Any) -> dict[str, Any]:
    """The JSON schema of one MFA setting: its own, or its type's (from its default), with
    the bounds of a number."""
    if name in _SETTING_SCHEMAS:
        return _SETTING_SCHEMAS[name]
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, int):
        low, high = BOUNDS[name]
        return {"type": "integer", "minimum": low, "maximum": high}
    return _STRINGS if isinstance(default, tuple) else _STRING


def _schemas() -> dict[str, Any]:
    settings = {field.name: _setting_schema(field.name, field.default)
                for field in dataclasses.fields(MfaSettings)}
    user = _object({"user_id": _STRING, "email": {"type": "string", "format": "email"},
                    "email_verified": {"type": "boolean"}, "created_at": _MOMENT,
                    "blocked": {"type": "boolean"}, "blocked_at": _MAYBE_MOMENT,
                    **_profile_schema(nullable=True),
                    "updated_at": {**_MAYBE_MOMENT, "description": "Last profile change"}})
    client = _object({"client_id": _STRING, "name": _STRING, "public": {"type": "boolean"},
                      "grant_types": _STRINGS, "scopes": _STRINGS, "audiences": _STRINGS,
                      **_CLIENT_SIGN_IN, **_CLIENT_MFA, "created_at": _MOMENT})
    group_rule = {"description": {"type": "string", "maxLength": 500, "pattern": TEXT},
                  "mfa_always": {"type": "boolean", "description": "Members answer a second "
                                 "factor at every login, whatever the application says"},
                  "mfa_factors": _FACTOR_LIST}
    group_name = {"type": "string", "maxLength": 100, "allOf": [{"pattern": TEXT},
                                                                {"pattern": "\\S"}]}
    return {
        "Error": _object({"error": _STRING, "error_description": _STRING}),
        "MfaSettings": _object(settings),
        "MfaSettingsChanges": {**_object(settings, required=(), closed=True),
                               "minProperties": 1},
        "Balance": _object({"balance": {"type": "integer"}}),
        "TopUp": _object({"add": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_UP}},
                         closed=True),
        "User": user,
        "UserPage": _object({"users": {"type": "array", "items": schema_ref("User")},
                             "total": {"type": "integer"}, "page": {"type": "integer"},
                             "per_page": {"type": "integer"}}),
        "NewUser": _object({"email": _EMAIL, "password": {**_STRING, "minLength": 8,
                                                            "maxLength": 1024},
                            **_profile_schema(nullable=True)},
                           required=("email", "password"), closed=True),
        "UserChanges": {**_object(
            {"email": {**_EMAIL, "description": "Unique regardless of case; a new "
                       "address is unverified unless email_verified is also sent"},
             "email_verified": {"type": "boolean"},
             "password": {**_STRING, "minLength": 8, "maxLength": 1024,
                          "description": "Revokes every refresh token of the user"},
             "blocked": {"type": "boolean", "description": "true: no token for the user from "
                         "any grant, every refresh token revoked; false: unblocked"},
             **_profile_schema(nullable=True)},
            required=(), closed=True), "minProperties": 1,
            "description": "A profile claim set to \"\" or null is cleared"},
        "Authenticator": _authenticator_schema(),
        "AuthenticatorList": _object({"authenticators": {"type": "array",
                                                          "items": schema_ref("Authenticator")}}),
        "Reset": _object({"removed": {"type": "integer", "minimum": 0}}),
        "Client": client,
        "ClientList": _object({"clients": {"type": "array", "items": schema_ref("Client")}}),
        "NewClient": {**_object(
            {"name": {"type": "string", "maxLength": 100,
                      "allOf": [{"pattern": TEXT}, {"pattern": "\\S"}],
                      "description": "Shown to users; spaces at either end are dropped"},
             "public": {"type": "boolean", "default": False},
             "grant_types": {"type": "array", "items": _GRANT_TYPE, "description": "Of "
                             f"{', '.join(GRANT_TYPES)}; mfa-otp, mfa-oob, "
                             "mfa-recovery-code, mfa-webauthn and passkey as short names"},
             "scopes": {"type": "array", "items": _SCOPE},
             "audiences": {"type": "array", "items": {
                 "type": "string", "minLength": 1, "maxLength": MAX_AUDIENCE_LENGTH,
                 "pattern": "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$"}},
             **_CLIENT_SIGN_IN, **_CLIENT_MFA},
            required=("name",), closed=True),
            # RFC 6749 §4.4: a public client has no secret, so no client_credentials
            "if": {"properties": {"public": {"const": True}}, "required": ["public"]},
            "then": {"properties": {"grant_types": {"not": {"contains": {
                "const": CLIENT_CREDENTIALS}}}}}},
        "ClientWithSecret": {"allOf": [schema_ref("Client"), _object(
            {"client_secret": {"type": ["string", "null"],
                               "description": "Shown once; null for a public client"}})]},
        "ClientChanges": {**_object({"grant_types": {"type": "array", "items": _GRANT_TYPE,
                                                     "minItems": 1},
                                     **_CLIENT_SIGN_IN, **_CLIENT_MFA}, required=(),
                                    closed=True),
                          "minProperties": 1},
        "Group": _object({"id": _STRING, "name": _STRING, **group_rule,
                          "created_at": _MOMENT}),
        "GroupList": _object({"groups": {"type": "array", "items": schema_ref("Group")}}),
        "NewGroup": _object({"name": group_name, **group_rule}, required=("name",),
                            closed=True),
        "GroupChanges": {**_object({"name": group_name, **group_rule}, required=(),
                                   closed=True), "minProperties": 1},
        "MemberList": _object({"members": {"type": "array", "items": _object(
            {"user_id": _STRING, "email": _STRING})}}),
        "TrustedDeviceList": _object({"trusted_devices": {"type": "array", "items": _object(
            {"id": _STRING, "label": _STRING, "created_at": _MOMENT,
             "expires_at": _MOMENT})}}),
        "Consent": _object({"client_id": _STRING, "client_name": _STRING,
                            "scopes": _STRINGS, "granted_at": _MOMENT}),
        "ConsentList": _object({"consents": {"type": "array", "items": schema_ref("Consent")}}),
        "Secret": _object({"client_id": _STRING, "client_secret": _STRING}),
        "AuditEvent": _object({"id": {"type": "integer"}, "type": _STRING,
                               "user_id": {"type": ["string", "null"]},
                               "client_id": {"type": ["string", "null"]},
                               "ip": {"type": ["string", "null"]}, "created_at": _MOMENT,
                               "detail": {"type": "object"}}),
        "AuditEventList": _object({"events": {"type": "array", "items": schema_ref("AuditEvent")}}),
    }


def _authenticator_schema() -> dict[str, Any]:
    """An authenticator app or phone (README, API), or the recovery codes left."""
    factor = _object(
        {"id": _STRING, "authenticator_type": {"enum": ["otp", "oob"]},
         "oob_channel": {"enum": ["sms"]}, "name": _STRING, "active": {"type": "boolean"},
         "created_at": _MOMENT, "last_used_at": _MAYBE_MOMENT,
         "phone_number": {"type": "string", "description": "Masked"}},
        required=("id", "authenticator_type", "name", "active", "created_at", "last_used_at"))
    codes = _object({"id": {"const": "recovery-code"},
                     "authenticator_type": {"const": "recovery-code"},
                     "active": {"const": True}, "remaining": {"type": "integer", "minimum": 0}})
    return {"oneOf": [factor, codes]}
