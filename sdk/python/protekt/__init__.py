"""Protekt's Python SDK: the client calls of the MFA guide, sign-in by redirect (OpenID Connect),
and access-token checks for APIs."""

from protekt.client import API_DEFAULT_SCOPE, DEFAULT_SCOPE, Authentication, Protekt
from protekt.errors import NETWORK_ERROR, ProtektError
from protekt.mfa import MemoryOobCodes, Mfa, OobCodes
from protekt.oidc import (
    INVALID_ID_TOKEN,
    INVALID_ISSUER,
    INVALID_STATE,
    REDIRECT_DEFAULT_SCOPE,
    IdTokenVerifier,
)
from protekt.resource import (
    AccessTokenVerifier,
    BearerError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidToken,
    Jwks,
    KeysUnavailable,
)

__all__ = [
    "API_DEFAULT_SCOPE",
    "DEFAULT_SCOPE",
    "INVALID_ID_TOKEN",
    "INVALID_ISSUER",
    "INVALID_STATE",
    "NETWORK_ERROR",
    "REDIRECT_DEFAULT_SCOPE",
    "AccessTokenVerifier",
    "Authentication",
    "BearerError",
    "IdTokenVerifier",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "InvalidToken",
    "Jwks",
    "KeysUnavailable",
    "MemoryOobCodes",
    "Mfa",
    "OobCodes",
    "Protekt",
    "ProtektError",
]
