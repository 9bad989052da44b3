"""Protekt's Python SDK: the client calls of the MFA guide, and access-token checks for APIs."""

from protekt.client import API_DEFAULT_SCOPE, DEFAULT_SCOPE, Authentication, Protekt
from protekt.errors import NETWORK_ERROR, ProtektError
from protekt.mfa import MemoryOobCodes, Mfa, OobCodes
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
    "NETWORK_ERROR",
    "AccessTokenVerifier",
    "Authentication",
    "BearerError",
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
