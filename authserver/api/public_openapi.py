"""The OpenAPI 3.1 description of the public API, served at ``GET /openapi.json``: discovery and
the JWKS, the token and revocation endpoints, UserInfo, the MFA endpoints, and the browser's
``/authorize`` and ``/logout``.

Written by hand beside the management API's document (:mod:`authserver.api.openapi`), and held
to the code the same way: its operations are exactly the public routes, the grants of the token
endpoint are exactly those discovery lists, the answers of the running server match its schemas,
and a schemathesis run in the suite sends it generated requests. Parameters follow RFC 6749
§3.1: one the server does not know is ignored, so no body here refuses other members.
"""

from __future__ import annotations

from typing import Any

from authserver.api.openapi import JSON, NAME, TEXT, schema_ref
from authserver.clients import (
    AUTH0_ALIASES,
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    MFA_OOB,
    MFA_OTP,
    MFA_RECOVERY_CODE,
    MFA_WEBAUTHN,
    PASSKEY,
    PASSWORD,
    REFRESH_TOKEN,
)
from authserver.hosted.authorize import PARAMETERS as AUTHORIZE_PARAMETERS
from authserver.mfa.settings import OTP, SMS, WEBAUTHN, WEBAUTHN_FACTORS

FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
CLIENT, BEARER = "client", "bearer"  # the security schemes below
_VALUE = {"type": "string", "pattern": TEXT}  # a form value: tabs and line breaks may pass
_GIVEN = {**_VALUE, "minLength": 1}  # a required one: sent empty, it counts as omitted
_STRINGS = {"type": "array", "items": {"type": "string"}}
# The browser's PublicKeyCredential, JSON-encoded (WebAuthn L3 §5.1.4.1, credential.toJSON())
_CREDENTIAL = {**_GIVEN, "contentMediaType": JSON,
               "description": "The browser's PublicKeyCredential, JSON-encoded (WebAuthn L3 "
                              "§5.1.4.1: credential.toJSON())"}
# WebAuthn L3 §5.4, §5.5: the options' JSON forms, as PublicKeyCredential.parse*FromJSON takes
_OPTIONS = {"type": "object", "required": ["challenge"],
            "description": "PublicKeyCredentialCreationOptionsJSON or "
                           "PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.4, §5.5)"}
_AUTHENTICATOR_TYPES = ["otp", "oob", *WEBAUTHN_FACTORS]

# status → (component, what it means); the body is always {"error", "error_description"}.
ERRORS = {
    400: ("BadRequest", "invalid_request (a parameter missing, repeated or malformed), "
                        "invalid_grant, expired_token, invalid_scope, unauthorized_client or "
                        "unsupported_grant_type (RFC 6749 §5.2)."),
    401: ("Unauthorized", "invalid_client (client authentication failed) or invalid_token "
                          "(no Bearer token, or one that is expired, revoked or not ours)."),
    403: ("Forbidden", "insufficient_scope, or mfa_required when the call needs a login "
                       "with a second factor."),
    404: ("NotFound", "not_found: no such authenticator of this user."),
    413: ("TooLarge", "invalid_request: the body is larger than this server accepts."),
    429: ("TooManyAttempts", "too_many_attempts: an attempt or sending limit; Retry-After says "
                             "when to try again, and login_again: true that no wait helps."),
    503: ("Unavailable", "temporarily_unavailable: the database or Redis cannot be reached; "
                         "never a token. Retry after Retry-After seconds."),
}
_HEADERS = {
    401: {"WWW-Authenticate": "Basic for a client, Bearer for a token (RFC 6750 §3)"},
    429: {"Retry-After": "Seconds to wait"},
    503: {"Retry-After": "Seconds to wait"},
}
_ALWAYS = (400, 413, 503)  # any call: a control character in the URL, a body too large


def document(issuer: str) -> dict[str, Any]:
    """The whole document, for a server whose issuer URL is ``issuer``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Protekt authentication API",
            "version": "1",
            "description": (
                "OAuth 2.0 and OpenID Connect with multi-factor login: discovery and keys, the "
                "token endpoint with the password, refresh, client credentials, authorization "
                "code and MFA grants, revocation, UserInfo, enrollment and challenges of second "
                "factors, and the browser's sign-in and sign-out. Bodies are form-encoded or "
                "JSON; parameters the server does not know are ignored (RFC 6749 §3.1)."
            ),
        },
        "servers": [{"url": issuer}],
        "paths": {**_discovery(), **_oauth(), **_mfa(), **_passkey(), **_browser()},
        "components": {
            "schemas": _schemas(),
            "responses": {name: _error_response(status)
                          for status, (name, _) in ERRORS.items()},
            "securitySchemes": {
                CLIENT: {"type": "http", "scheme": "basic", "description": (
                    "client_secret_basic; or client_id and client_secret in the body "
                    "(client_secret_post); or client_id alone for a public client")},
                BEARER: {"type": "http", "scheme": "bearer", "description": (
                    "An access token of this server, or during a login the mfa_token")},
            },
        },
    }


# --- operations ----------------------------------------------------------------------------


def _operation(operation_id: str, summary: str, *, ok: dict[str, Any],
               errors: tuple[int, ...] = (), security: str | None = None,
               body: str | None = None, parameters: list[dict[str, Any]] | None = None,
               ) -> dict[str, Any]:
    responses = dict(ok)
    for status in sorted({*errors, *_ALWAYS}):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary,
                                 "responses": responses}
    operation["security"] = [] if security is None else (
        [{CLIENT: []}, {}] if security == CLIENT else [{BEARER: []}])
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            FORM: {"schema": schema_ref(body)}, JSON: {"schema": schema_ref(body)}}}
    return operation


def _json(status: int, description: str, schema: str, *,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {JSON: {"schema": schema_ref(schema)}}}
    if headers:
        answer["headers"] = _header_objects(headers)
    return {str(status): answer}


def _header_objects(headers: dict[str, str], *, required: bool = True) -> dict[str, Any]:
    return {name: {"description": text, "required": required, "schema": {"type": "string"}}
            for name, text in headers.items()}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERRORS[status][1],
                                "content": {JSON: {"schema": schema_ref("Error")}}}
    if status in _HEADERS:  # WWW-Authenticate: when the client sent an Authorization header
        response["headers"] = _header_objects(_HEADERS[status], required=status != 401)
    return response


_CACHEABLE = {"Cache-Control": "public, max-age=…: cacheable (OIDC Discovery §4, RFC 7517)"}


def _discovery() -> dict[str, Any]:
    metadata = _operation("providerMetadata", "The provider's metadata (OIDC Discovery 1.0 §3, "
                          "RFC 8414 §2)", ok=_json(200, "The metadata", "ProviderMetadata",
                                                   headers=_CACHEABLE))
    return {
        "/.well-known/openid-configuration": {"get": metadata},
        "/.well-known/oauth-authorization-server": {
            "get": {**metadata, "operationId": "authorizationServerMetadata"}},
        "/.well-known/jwks.json": {"get": _operation(
            "jwks", "The public keys that verify this server's tokens (RFC 7517 §5)",
            ok=_json(200, "The key set", "KeySet", headers=_CACHEABLE))},
        "/openapi.json": {"get": _operation(
            "openapiDocument", "This document", ok={"200": {
                "description": "OpenAPI 3.1", "headers": _header_objects(_CACHEABLE),
                "content": {JSON: {"schema": {"type": "object"}}}}})},
    }


def _oauth() -> dict[str, Any]:
    userinfo = _operation(
        "userInfo", "The claims of the access token's user that its scopes allow (OIDC Core "
        "§5.3); the token needs the openid scope", security=BEARER,
        ok=_json(200, "The claims", "UserInfo"), errors=(401, 403))
    return {
        "/oauth/token": {"post": _operation(
            "token", "Tokens for a grant (RFC 6749 §3.2); a user with MFA gets 403 "
            "mfa_required and an mfa_token instead", security=CLIENT, body="TokenRequest",
            ok=_json(200, "The tokens", "Tokens") | _MFA_REQUIRED, errors=(401, 429))},
        "/oauth/revoke": {"post": _operation(
            "revoke", "Revoke a refresh token (with its whole login) or an access token (RFC "
            "7009 §2); unknown tokens are answered the same", security=CLIENT,
            body="Revocation", ok={"200": {
                "description": "Revoked, or not a token of this client: an empty object",
                "content": {JSON: {"schema": {"type": "object", "maxProperties": 0}}}}},
            errors=(401,))},
        "/userinfo": {"get": userinfo, "post": {**userinfo, "operationId": "userInfoPost"}},
    }


_MFA_REQUIRED = {"403": {
    "description": "mfa_required: the user must answer a second factor (or enroll one) with the "
                   "mfa_token; or access_denied: the client may not ask for this audience",
    "content": {JSON: {"schema": {"anyOf": [schema_ref("MfaRequired"), schema_ref("Error")]}}}}}


def _authenticator_id() -> list[dict[str, Any]]:
    return [{"name": "authenticator_id", "in": "path", "required": True,
             "description": "The authenticator's id", "schema": NAME}]


def _mfa() -> dict[str, Any]:
    factor_errors = (401, 403, 429)
    return {
        "/mfa/associate": {"post": _operation(
            "associate", "Enroll a factor: an authenticator app (pending until its first code) "
            "or a phone; the first enrollment also brings recovery codes", security=BEARER,
            body="Association", ok=_json(200, "The new authenticator", "Associated"),
            errors=factor_errors)},
        "/mfa/authenticators/{authenticator_id}/confirm": {"post": _operation(
            "confirmAuthenticator", "Activate a pending authenticator with its first code",
            security=BEARER, body="Confirmation", parameters=_authenticator_id(),
            ok=_json(200, "Active", "Confirmed"), errors=(*factor_errors, 404))},
        "/mfa/authenticators": {"get": _operation(
            "listAuthenticators", "The user's authenticators; phone numbers masked, recovery "
            "codes as one entry", security=BEARER,
            ok=_json(200, "The authenticators", "Authenticators"), errors=(401, 403))},
        "/mfa/authenticators/{authenticator_id}": {"delete": _operation(
            "removeAuthenticator", "Remove one authenticator", security=BEARER,
            parameters=_authenticator_id(), ok={"204": {"description": "Removed"}},
            errors=(401, 403, 404))},
        "/mfa/recovery-codes": {"post": _operation(
            "regenerateRecoveryCodes", "A new set of recovery codes; the old set stops "
            "working", security=BEARER, ok=_json(200, "The new codes", "RecoveryCodes"),
            errors=(401, 403, 404))},
        "/mfa/challenge": {"post": _operation(
            "challenge", "Start the second step of a login: otp (open the app), oob/sms "
            "(a code is sent) or webauthn (options for the browser's passkey prompt)",
            security=CLIENT, body="ChallengeRequest",
            ok=_json(200, "The challenge", "Challenge"), errors=(401, 429))},
    }


def _passkey() -> dict[str, Any]:
    return {"/passkey/challenge": {"post": _operation(
        "passkeyChallenge", "Start a passwordless sign-in: a passkey_session and the options "
        "for navigator.credentials.get; finish with the passkey grant", security=CLIENT,
        ok=_json(200, "The session and its options", "PasskeyChallenge"), errors=(401,))}}


def _in_query(name: str, description: str, longest: int | None = None) -> dict[str, Any]:
    schema = {**NAME, **({"maxLength": longest} if longest else {})}
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_AUTHORIZE_NOTES = {
    "response_type": "code", "client_id": "The application's client_id",
    "redirect_uri": "Exactly one the application registered",
    "scope": "Space-separated; openid for an ID token", "state": "Returned as it came",
    "nonce": "Put into the ID token", "code_challenge": "PKCE (RFC 7636): BASE64URL(SHA-256 of "
    "the verifier); required for public clients", "code_challenge_method": "S256",
    "prompt": "none, login or consent", "max_age": "Seconds since the last sign-in",
    "login_hint": "The email to fill in", "acr_values": "Ask for MFA (or more) by its acr",
}


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def _browser_operations(operation_id: str, summary: str,
                        parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """GET with the parameters in the query, POST with the same as a form."""
    form = {"type": "object", "properties": {p["name"]: p["schema"] for p in parameters}}
    answers = _browser_answers()
    return {
        "get": {"operationId": operation_id, "summary": summary, "security": [],
                "parameters": parameters, "responses": answers},
        "post": {"operationId": operation_id + "Post", "summary": summary, "security": [],
                 "requestBody": {"required": False, "content": {FORM: {"schema": form}}},
                 "responses": answers},
    }


def _browser_answers() -> dict[str, Any]:
    redirect = {"description": "To the application (or the next page), with the result",
                "headers": _header_objects({"Location": "Where to"})}
    return {"200": _page("A hosted page: sign-in, second factor, consent, or "
                                       "the sign-out question"),
                          "302": redirect, "303": redirect,
                          "400": _page("What went wrong, before a trusted return address is "
                                       "known; nothing is sent to the application"),
                          "413": {"$ref": "#/components/responses/TooLarge"},
                          "429": _page("Too many attempts; try again later"),
            "503": _page("The service cannot be reached; try again later")}


def _browser() -> dict[str, Any]:
    authorize = [_in_query(name, _AUTHORIZE_NOTES.get(name, "See OIDC Core §3.1.2.1"), longest)
                 for name, longest in AUTHORIZE_PARAMETERS.items()]
    logout = [_in_query(name, text) for name, text in (
        ("id_token_hint", "An ID token this server issued to the application"),
        ("post_logout_redirect_uri", "Exactly one the application registered"),
        ("state", "Returned as it came"), ("client_id", "The application's client_id"))]
    sign_in = _browser_operations("authorize", "Sign the user in with the hosted pages, then "
                                 "send a code to the application (RFC 6749 §4.1, RFC 7636, "
                                 "RFC 9207, OIDC Core §3.1)", authorize)
    sign_out = _browser_operations("logout", "End the user's sign-in session (OIDC "
                                  "RP-Initiated Logout 1.0)", logout)
    return {"/authorize": sign_in, "/logout": sign_out}


# --- schemas -------------------------------------------------------------------------------

_CLIENT = {"client_id": {**_VALUE, "description": "client_secret_post or a public client"},
           "client_secret": {**_VALUE, "description": "client_secret_post"}}
_SCOPE = {**_VALUE, "description": "Space-separated scopes (RFC 6749 §3.3)"}
_AUDIENCE = {**_VALUE, "description": "The API the access token is for (RFC 8707)"}
# grant type → (its parameters, the required ones), RFC 6749 §4 and the MFA grants (README)
_GRANT_PARAMETERS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    PASSWORD: ({"username": _GIVEN, "password": _GIVEN, "scope": _SCOPE,
                "audience": _AUDIENCE}, ("username", "password")),
    REFRESH_TOKEN: ({"refresh_token": _GIVEN, "scope": _SCOPE}, ("refresh_token",)),
    CLIENT_CREDENTIALS: ({"scope": _SCOPE, "audience": _AUDIENCE}, ()),
    AUTHORIZATION_CODE: ({"code": _GIVEN, "redirect_uri": _GIVEN, "code_verifier": _VALUE},
                         ("code", "redirect_uri")),
    MFA_OTP: ({"mfa_token": _GIVEN, "otp": _GIVEN}, ("mfa_token", "otp")),
    MFA_OOB: ({"mfa_token": _GIVEN, "oob_code": _GIVEN, "binding_code": _GIVEN},
              ("mfa_token", "oob_code", "binding_code")),
    MFA_RECOVERY_CODE: ({"mfa_token": _GIVEN, "recovery_code": _GIVEN},
                        ("mfa_token", "recovery_code")),
    MFA_WEBAUTHN: ({"mfa_token": _GIVEN, "credential": _CREDENTIAL},
                   ("mfa_token", "credential")),
    PASSKEY: ({"passkey_session": _GIVEN, "credential": _CREDENTIAL, "scope": _SCOPE,
               "audience": _AUDIENCE}, ("passkey_session", "credential")),
}


def token_request_schema() -> dict[str, Any]:
    """One alternative per grant, told apart by grant_type (Auth0's MFA URIs as aliases)."""
    aliases = {grant: [alias for alias, to in AUTH0_ALIASES.items() if to == grant]
               for grant in _GRANT_PARAMETERS}
    return {"oneOf": [
        {"type": "object", "title": grant,
         "properties": {"grant_type": {"enum": [grant, *aliases[grant]]}, **parameters,
                        **_CLIENT},
         "required": ["grant_type", *required]}
        for grant, (parameters, required) in _GRANT_PARAMETERS.items()]}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")  # RFC 7518 §6: never published
_MASKED = "The phone number with all but its last digits masked"


def _schemas() -> dict[str, Any]:
    return {
        "Error": _object({"error": {"type": "string"}, "error_description": {"type": "string"},
                          "login_again": {"type": "boolean"}}, "error", "error_description"),
        "ProviderMetadata": _object(
            {name: {"type": "string", "format": "uri"} for name in (
                "issuer", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                "revocation_endpoint", "authorization_endpoint", "mfa_challenge_endpoint",
                "mfa_associate_endpoint", "mfa_authenticators_endpoint",
                "passkey_challenge_endpoint")}
            | {name: _STRINGS for name in (
                "grant_types_supported", "response_types_supported", "scopes_supported",
                "id_token_signing_alg_values_supported", "subject_types_supported",
                "token_endpoint_auth_methods_supported", "claims_supported")},
            "issuer", "token_endpoint", "jwks_uri", "grant_types_supported",
            "response_types_supported", "subject_types_supported",
            "id_token_signing_alg_values_supported"),
        "KeySet": _object({"keys": {"type": "array", "items": {
            **_object({"kid": {"type": "string"}, "kty": {"enum": ["RSA", "EC", "OKP"]},
                       "use": {"const": "sig"}, "alg": {"type": "string"}},
                      "kid", "kty", "use", "alg"),
            "not": {"anyOf": [{"required": [member]} for member in _PRIVATE_MEMBERS]}}}},
            "keys"),
        "TokenRequest": token_request_schema(),
        "Tokens": _object({"access_token": {"type": "string"},
                           "token_type": {"const": "Bearer"},
                           "expires_in": {"type": "integer", "minimum": 1},
                           "scope": {"type": "string"}, "id_token": {"type": "string"},
                           "refresh_token": {"type": "string"},
                           "recovery_codes_remaining": {"type": "integer", "minimum": 0}},
                          "access_token", "token_type", "expires_in"),
        "MfaRequired": _object({
            "error": {"const": "mfa_required"}, "error_description": {"type": "string"},
            "mfa_token": {"type": "string"},
            "mfa_requirements": {"type": "object", "minProperties": 1, "maxProperties": 1,
                                 "additionalProperties": {"type": "array", "items": _object(
                                     {"type": {"type": "string"}}, "type")}},
            "available_factors": _STRINGS},
            "error", "error_description", "mfa_token", "mfa_requirements"),
        "Revocation": _object({"token": _GIVEN, "token_type_hint": {
            **_VALUE, "description": "refresh_token or access_token; ignored, as RFC 7009 §2.1 "
                                     "allows: every kind of token is looked for"},
                               **_CLIENT}, "token"),
        "UserInfo": _object({"sub": {"type": "string"}}, "sub"),
        "Association": {"oneOf": [
            _object({"type": {"enum": [OTP, SMS, *WEBAUTHN_FACTORS]}, "phone_number": _VALUE,
                     "name": _VALUE}, "type"),
            _object({"authenticator_types": {"type": "array",
                                             "items": {"enum": _AUTHENTICATOR_TYPES},
                                             "minItems": 1, "maxItems": 1},
                     "oob_channels": {"type": "array", "items": {"const": "sms"}},
                     "phone_number": _VALUE, "name": _VALUE}, "authenticator_types")]},
        "Associated": _object({
            "id": {"type": "string"}, "authenticator_type": {"enum": _AUTHENTICATOR_TYPES},
            "options": _OPTIONS,
            "oob_channel": {"const": "sms"}, "active": {"type": "boolean"},
            "secret": {"type": "string", "description": "Base32, 160 bits"},
            "barcode_uri": {"type": "string", "pattern": "^otpauth://totp/"},
            "qr_code": {"type": "string", "pattern": "^data:image/png;base64,"},
            "recovery_codes": _STRINGS, "oob_code": {"type": "string"},
            "binding_method": {"const": "prompt"}}, "id", "authenticator_type"),
        "Confirmation": _object({"otp": _VALUE, "binding_code": _VALUE, "oob_code": _VALUE,
                                 "credential": {"anyOf": [_CREDENTIAL, {"type": "object"}]}}),
        "Confirmed": _object({"id": {"type": "string"}, "authenticator_type": {
            "type": "string"}, "active": {"const": True}}, "id", "authenticator_type",
            "active"),
        "Authenticators": {"type": "array", "items": {"oneOf": [
            _object({"id": {"type": "string"},
                     "authenticator_type": {"enum": _AUTHENTICATOR_TYPES},
                     "oob_channel": {"const": "sms"}, "name": {"type": ["string", "null"],
                                                               "description": _MASKED},
                     "backup_eligible": {"type": "boolean"}, "backed_up": {"type": "boolean"},
                     "aaguid": {"type": ["string", "null"]}, "transports": _STRINGS,
                     "model": {"type": ["string", "null"], "description": "The passkey "
                               "provider or security key, when its AAGUID is a known one"},
                     "active": {"type": "boolean"},
                     "created_at": {"type": "string", "format": "date-time"},
                     "last_used_at": {"type": ["string", "null"], "format": "date-time"}},
                    "id", "authenticator_type", "active", "created_at"),
            _object({"authenticator_type": {"const": "recovery-code"},
                     "remaining": {"type": "integer", "minimum": 0}},
                    "authenticator_type", "remaining")]}},
        "RecoveryCodes": _object({"recovery_codes": _STRINGS}, "recovery_codes"),
        "ChallengeRequest": _object({"mfa_token": _GIVEN, "challenge_type": {
            "enum": ["otp", "oob", "sms", WEBAUTHN]}, "authenticator_id": _VALUE, **_CLIENT},
            "mfa_token", "challenge_type"),
        "Challenge": _object({"challenge_type": {"enum": ["otp", "oob", WEBAUTHN]},
                              "oob_code": {"type": "string"},
                              "binding_method": {"const": "prompt"}, "options": _OPTIONS},
                             "challenge_type"),
        "PasskeyChallenge": _object({"passkey_session": {"type": "string"}, "options": _OPTIONS,
                                     "expires_in": {"type": "integer", "minimum": 1}},
                                    "passkey_session", "options", "expires_in"),
    }
