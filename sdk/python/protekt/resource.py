"""Checking Protekt access tokens in an API (a resource server).

An access token is a JWT per RFC 9068. It is accepted only when its signature verifies with a key
from the issuer's JWKS (RFC 7517) under an allow-listed algorithm (RFC 8725 §3.1), its header
``typ`` is ``at+jwt`` (RFC 9068 §4), and ``iss``, ``aud`` and ``exp`` hold (RFC 9068 §4, RFC 7519
§4.1). Refusals carry what RFC 6750 §3 puts in ``WWW-Authenticate``; a token whose login lacked a
second factor gets RFC 9470's ``insufficient_user_authentication``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from protekt._urls import checked_url

ALGORITHMS = ("RS256", "ES256", "EdDSA")  # what Protekt signs with (README, API)
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1, §4
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")  # RFC 9068 §2.2


class BearerError(Exception):
    """A refused request: ``error`` and ``status`` per RFC 6750 §3.1 and RFC 9470 §3."""

    error = "invalid_token"
    status = 401

    def __init__(self, description: str, scope: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.scope = scope

    def www_authenticate(self, realm: str = "api") -> str:
        """The ``WWW-Authenticate`` value (RFC 6750 §3): quoted, no quotes or backslashes inside."""
        params = {"realm": realm, "error": self.error, "error_description": self.description,
                  **self.challenge_params()}
        return "Bearer " + ", ".join(f'{name}="{_quotable(value)}"'
                                     for name, value in params.items())

    def challenge_params(self) -> dict[str, str]:
        """The auth-params beyond the error: the scope needed, when one is named."""
        return {} if self.scope is None else {"scope": self.scope}


class InvalidToken(BearerError):
    """Missing claims, bad signature, expired, another issuer or audience (RFC 6750 §3.1)."""


class InsufficientScope(BearerError):
    """The token lacks a scope the request needs (RFC 6750 §3.1)."""

    error = "insufficient_scope"
    status = 403


MULTI_FACTOR_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


class InsufficientUserAuthentication(BearerError):
    """The login behind the token had no second factor (RFC 9470 §3): 401, log in with MFA.

    The challenge carries ``acr_values`` (RFC 9470 §3): the app signs the user in again with
    them (``Protekt.authorization_url(..., acr_values=...)``), and Protekt asks the second
    factor."""

    error = "insufficient_user_authentication"

    def challenge_params(self) -> dict[str, str]:
        return {"acr_values": MULTI_FACTOR_ACR}


class KeysUnavailable(Exception):
    """The issuer's JWKS could not be fetched: the token is neither good nor bad yet.

    Not a BearerError: answer 503 with ``Retry-After``, not a challenge to send another token.
    """

    error = "temporarily_unavailable"
    status = 503


class Jwks:
    """The issuer's signing keys, cached; refetched when a token names an unknown ``kid``.

    Fetches are at most one per ``cooldown`` seconds, failed ones included, so tokens with made-up
    key ids, or an issuer that is down, cannot make every request wait on the network; the set is
    refreshed anyway after ``max_age`` seconds. A failed refresh keeps the keys already known, so
    an outage of the issuer does not refuse good tokens. The fetch holds the lock: requests that
    arrive meanwhile wait for it instead of fetching again.
    """

    def __init__(self, jwks_uri: str, *, cooldown: float = 30.0, max_age: float = 600.0,
                 timeout: float = 5.0, session: requests.Session | None = None) -> None:
        self._uri = checked_url(jwks_uri, "jwks_uri")
        self._cooldown = cooldown
        self._max_age = max_age
        self._timeout = timeout
        self._session = session or requests.Session()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = float("-inf")  # last success
        self._attempted = float("-inf")  # last attempt, failed or not
        self._failed = False
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id; None if the issuer does not publish it; KeysUnavailable if that
        cannot be known because the issuer's keys cannot be fetched."""
        with self._lock:
            now = time.monotonic()
            wanted = kid not in self._keys or now - self._fetched > self._max_age
            if wanted and now - self._attempted > self._cooldown:
                self._refresh(now)
            if kid not in self._keys and self._failed:
                raise KeysUnavailable("The token issuer's keys could not be fetched.")
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._attempted = now
        try:
            self._keys, self._fetched, self._failed = self._fetch(), now, False
        except KeysUnavailable:
            self._failed = True

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = self._session.get(self._uri, timeout=self._timeout, allow_redirects=False)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (requests.RequestException, ValueError, jwt.PyJWKSetError) as exc:
            raise KeysUnavailable("The token issuer's keys could not be fetched.") from exc
        return {key.key_id: key for key in keys if key.key_id and key.public_key_use != "enc"}


class AccessTokenVerifier:
    """Verifies Protekt access tokens meant for one API.

    ``issuer`` is the Protekt URL (``iss``); ``audience`` is this API's identifier, the
    ``audience`` its clients log in with (Protekt's own URL when they ask for none).
    ``leeway`` is the clock skew allowed on ``exp`` and ``iat``, in seconds.
    """

    def __init__(self, issuer: str, audience: str, *, algorithms: tuple[str, ...] = ALGORITHMS,
                 leeway: float = 5.0, jwks: Jwks | None = None) -> None:
        self.issuer = checked_url(issuer, "issuer")
        self.audience = audience
        self._algorithms = algorithms
        self._leeway = leeway
        self._jwks = jwks or Jwks(f"{self.issuer}/.well-known/jwks.json")

    def verify(self, token: str, *, scope: str | None = None,
               require_mfa: bool = False) -> dict[str, Any]:
        """The token's claims, or a BearerError saying what the request lacks.

        ``scope``: space-separated scopes the token must all hold (RFC 6750 §3.1);
        ``require_mfa``: ``amr`` must hold ``mfa`` (RFC 8176 §2, RFC 9470 §3).
        """
        claims = self._decode(token)
        missing = set((scope or "").split()) - set(str(claims.get("scope", "")).split())
        if missing:
            raise InsufficientScope(f"The access token lacks scope {sorted(missing)[0]}.", scope)
        amr = claims.get("amr")
        if require_mfa and not (isinstance(amr, list) and "mfa" in amr):
            raise InsufficientUserAuthentication(
                "A login with a second factor is required; log in again with MFA.")
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidToken("The access token is not a JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise InvalidToken("The access token's algorithm is not accepted.")
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("The token is not an access token (typ).")
        key = self._jwks.key(str(header.get("kid", "")))
        if key is None or key.algorithm_name != algorithm:
            raise InvalidToken("The access token was not signed by a key of the issuer.")
        return self._claims(token, key, algorithm)

    def _claims(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        checks = JwtChecks(self.issuer, self.audience, REQUIRED_CLAIMS, self._leeway,
                           "access token", "this API", InvalidToken)
        return checked_claims(token, key, algorithm, checks)


@dataclass(frozen=True)
class JwtChecks:
    """What a JWT of the issuer must say (``iss``, ``aud``, the claims it must carry), and how
    a refusal names it: ``what`` it is, ``meant_for`` whom, raised as ``refuse(text)``."""

    issuer: str
    audience: str
    required: tuple[str, ...]
    leeway: float
    what: str
    meant_for: str
    refuse: Callable[[str], Exception]


def checked_claims(token: str, key: jwt.PyJWK, algorithm: str,
                   checks: JwtChecks) -> dict[str, Any]:
    """The claims of ``token`` signed with ``key``, its ``iss``, ``aud`` and times checked (RFC
    7519 §4.1); a refusal saying which check failed otherwise."""
    what, refuse = checks.what, checks.refuse
    try:
        return jwt.decode(token, key=key.key, algorithms=[algorithm], issuer=checks.issuer,
                          audience=checks.audience, leeway=checks.leeway,
                          options={"require": list(checks.required)})
    except jwt.ExpiredSignatureError:
        raise refuse(f"The {what} has expired.") from None
    except jwt.InvalidIssuerError:
        raise refuse(f"The {what} comes from another issuer.") from None
    except jwt.InvalidAudienceError:
        raise refuse(f"The {what} is not meant for {checks.meant_for} (aud).") from None
    except jwt.InvalidSignatureError:
        raise refuse(f"The {what}'s signature does not verify.") from None
    except jwt.InvalidTokenError:
        raise refuse(f"The {what} is malformed or not yet valid.") from None


def _quotable(value: str) -> str:
    """RFC 6750 §3: error_description uses %x20-21 / %x23-5B / %x5D-7E only."""
    return "".join(c for c in value if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
