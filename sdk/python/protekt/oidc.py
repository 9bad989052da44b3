"""Sign-in at Protekt's own pages for server-side web apps: the OpenID Connect authorization code
flow with PKCE (OIDC Core 1.0 §3.1, RFC 7636, RFC 9700 §2.1.1).

The app keeps two values between the redirect and the callback: ``state`` and the PKCE
``code_verifier``. The ``nonce`` is derived from the verifier (a one-way hash under its own
label), so it needs no storage of its own and is not the code_challenge. ID tokens are checked as
OIDC Core 1.0 §3.1.3.7 says: signature with a key of the issuer's JWKS, ``iss``, ``aud`` (and
``azp``), ``exp``, ``nonce`` and, when ``max_age`` was asked for, ``auth_time``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt

from protekt.errors import NETWORK_ERROR, ProtektError
from protekt.resource import ALGORITHMS, Jwks, JwtChecks, KeysUnavailable, checked_claims

#: Scope of a sign-in by redirect that names none: an ID token, the user's profile and email.
REDIRECT_DEFAULT_SCOPE = "openid profile email"
#: The values of ``prompt``, a space-separated list (OIDC Core 1.0 §3.1.2.1).
PROMPTS = ("none", "login", "consent", "select_account")

#: ``error`` of a ProtektError: the callback's ``state`` is not the one the app kept.
INVALID_STATE = "invalid_state"
#: ``error`` of a ProtektError: the callback's ``iss`` is not the issuer (RFC 9207 §2.4).
INVALID_ISSUER = "invalid_issuer"
#: ``error`` of a ProtektError: the ID token's signature or claims do not hold.
INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105 (an error code)

ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat")  # OIDC Core 1.0 §2


def new_verifier() -> str:
    """A PKCE code_verifier: 32 random bytes, base64url, 43 characters (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """The S256 code_challenge: BASE64URL(SHA-256(ASCII(verifier))) (RFC 7636 §4.2)."""
    return _base64url(hashlib.sha256(verifier.encode("ascii")).digest())


def nonce_for(verifier: str) -> str:
    """The nonce of the login whose code_verifier this is: BASE64URL(SHA-256("nonce:" + v))."""
    return _base64url(hashlib.sha256(f"nonce:{verifier}".encode()).digest())


def valid_prompt(prompt: str) -> bool:
    """Whether ``prompt`` is a space-separated list of PROMPTS, ``none`` only alone."""
    values = prompt.split()
    return (bool(values) and all(value in PROMPTS for value in values)
            and ("none" not in values or len(values) == 1))


def with_openid(scope: str) -> str:
    """``scope`` with ``openid`` in it: without it there is no ID token, so no nonce to check."""
    scopes = scope.split()
    return " ".join(scopes if "openid" in scopes else ["openid", *scopes])


def with_query(url: str, params: dict[str, Any]) -> str:
    """``url`` with ``params`` added to its query; None values are left out."""
    query = urlencode({name: str(value) for name, value in params.items() if value is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def check_state(state: str | None, expected_state: str | None) -> None:
    """Nothing when both are None (the app compared them) or they are equal (constant time);
    otherwise a ProtektError ``invalid_state``."""
    if state is None and expected_state is None:
        return
    if state is None or expected_state is None or not hmac.compare_digest(
            state.encode(), expected_state.encode()):
        raise ProtektError(INVALID_STATE, "The callback's state is not the one this login kept: "
                                          "it is another login's, or forged (RFC 6749 §10.12).")


def check_issuer(iss: str | None, issuer: str) -> None:
    """An ``iss`` given must be the issuer (RFC 9207 §2.4): a ProtektError ``invalid_issuer``."""
    if iss is not None and iss != issuer:
        raise ProtektError(INVALID_ISSUER, f"The callback names issuer {iss}, not {issuer} "
                                           "(RFC 9207): it is not Protekt's answer.")


class IdTokenVerifier:
    """Checks the ID tokens of one client (OIDC Core 1.0 §3.1.3.7) with the issuer's JWKS.

    ``leeway`` is the clock skew allowed on ``exp``, ``iat`` and ``auth_time``, in seconds.
    """

    def __init__(self, issuer: str, client_id: str, jwks: Jwks, *,
                 algorithms: tuple[str, ...] = ALGORITHMS, leeway: float = 5.0) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._jwks = jwks
        self._algorithms = algorithms
        self._leeway = leeway

    def verify(self, id_token: Any, nonce: str, max_age: int | None = None) -> dict[str, Any]:
        """The token's claims, or a ProtektError ``invalid_id_token`` saying what is wrong."""
        if not isinstance(id_token, str):
            raise _refused("The token response has no ID token.")
        claims = self._decode(id_token)
        if "azp" in claims and claims["azp"] != self.client_id:
            raise _refused("The ID token was issued to another client (azp).")
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise _refused("The ID token's nonce is not this login's: it belongs to another one.")
        if max_age is not None and not self._recent(claims.get("auth_time"), max_age):
            raise _refused(f"The ID token's auth_time is missing or older than max_age "
                           f"({max_age} s).")
        return claims

    def _decode(self, id_token: str) -> dict[str, Any]:
        try:
            algorithm = jwt.get_unverified_header(id_token).get("alg")
        except jwt.DecodeError:
            raise _refused("The ID token is not a JWT.") from None
        if algorithm not in self._algorithms:
            raise _refused("The ID token's algorithm is not accepted.")
        key = self._key(id_token)
        if key is None or key.algorithm_name != algorithm:
            raise _refused("The ID token was not signed by a key of the issuer.")
        return self._claims(id_token, key, algorithm)

    def _claims(self, id_token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        checks = JwtChecks(self.issuer, self.client_id, ID_TOKEN_CLAIMS, self._leeway,
                           "ID token", "this client", _refused)
        return checked_claims(id_token, key, algorithm, checks)

    def _key(self, id_token: str) -> jwt.PyJWK | None:
        """The issuer's key named by the token's ``kid``; a ``network_error`` when the issuer's
        keys cannot be fetched (the token is neither good nor bad yet)."""
        try:
            return self._jwks.key(str(jwt.get_unverified_header(id_token).get("kid", "")))
        except KeysUnavailable as exc:
            raise ProtektError(NETWORK_ERROR, "Protekt's signing keys could not be fetched to "
                                              "check the ID token; log in again.") from exc

    def _recent(self, auth_time: Any, max_age: int) -> bool:
        """Whether the user authenticated at most ``max_age`` seconds ago (§3.1.3.7 point 13)."""
        return (isinstance(auth_time, int) and not isinstance(auth_time, bool)
                and auth_time + max_age + self._leeway >= time.time())


def _refused(description: str) -> ProtektError:
    return ProtektError(INVALID_ID_TOKEN, description)


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
