"""Scopes Protekt itself understands (RFC 6749 §3.3).

User scopes may be asked for by any grant that authenticates a user. A client's own ``scopes``
list adds scopes of other APIs (and, for client_credentials, is all it may ask for).
"""

from __future__ import annotations

import re

OPENID = "openid"  # OIDC Core §3.1.2.1: asks for an ID token
EMAIL = "email"  # OIDC Core §5.4
PROFILE = "profile"  # OIDC Core §5.4: name, given_name, family_name, ...
PHONE = "phone"  # OIDC Core §5.4: the verified MFA phone, with the user's consent
OFFLINE_ACCESS = "offline_access"  # OIDC Core §11: a refresh token from the browser sign-in
GROUPS = "groups"  # the names of the user's groups (README, MFA policies): the groups claim
OIDC_SCOPES: tuple[str, ...] = (OPENID, PROFILE, EMAIL, PHONE, OFFLINE_ACCESS, GROUPS)

# README, API: access tokens that manage the user's own factors at /mfa/*.
ENROLL = "enroll"
READ_AUTHENTICATORS = "read:authenticators"
REMOVE_AUTHENTICATORS = "remove:authenticators"

USER_SCOPES: tuple[str, ...] = (*OIDC_SCOPES, ENROLL, READ_AUTHENTICATORS, REMOVE_AUTHENTICATORS)
# Scopes for Protekt's own /mfa/* endpoints only: never in a token meant for another API, which
# could otherwise replay it here to change the user's factors (RFC 8707 §2: a token's audience).
FACTOR_SCOPES: tuple[str, ...] = (ENROLL, READ_AUTHENTICATORS, REMOVE_AUTHENTICATORS)
DEFAULT_SCOPE = OPENID  # README, API: the password grant's default

# README, API: the management API (/api/v2), for machine clients' client_credentials tokens only.
READ_SETTINGS = "read:settings"
UPDATE_SETTINGS = "update:settings"
READ_SMS_CREDITS = "read:sms_credits"
UPDATE_SMS_CREDITS = "update:sms_credits"
READ_USERS = "read:users"
CREATE_USERS = "create:users"
UPDATE_USERS = "update:users"  # email, password, blocking
DELETE_USERS = "delete:users"
DELETE_AUTHENTICATORS = "delete:authenticators"  # an admin removing a user's factors
READ_CLIENTS = "read:clients"
CREATE_CLIENTS = "create:clients"
UPDATE_CLIENTS = "update:clients"
DELETE_CLIENTS = "delete:clients"
READ_AUDIT = "read:audit"
READ_GROUPS = "read:groups"
UPDATE_GROUPS = "update:groups"  # create, change and delete groups, and their members
MANAGEMENT_SCOPES: tuple[str, ...] = (READ_SETTINGS, UPDATE_SETTINGS, READ_SMS_CREDITS,
                                      UPDATE_SMS_CREDITS, READ_USERS, CREATE_USERS, UPDATE_USERS,
                                      DELETE_USERS, DELETE_AUTHENTICATORS, READ_CLIENTS,
                                      CREATE_CLIENTS, UPDATE_CLIENTS, DELETE_CLIENTS, READ_AUDIT,
                                      READ_GROUPS, UPDATE_GROUPS)
MANAGEMENT_PATH = "/api/v2/"  # its audience is the issuer followed by this path

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(raw: str) -> tuple[str, ...]:
    """Split a scope string into its tokens, in order, without repeats; ValueError if malformed."""
    tokens = raw.split(" ")
    if any(not _SCOPE_TOKEN.match(token) for token in tokens):
        raise ValueError("scope must be space-separated tokens of printable ASCII")
    return tuple(dict.fromkeys(tokens))


def format_scope(scope: tuple[str, ...]) -> str:
    return " ".join(scope)
