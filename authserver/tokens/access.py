"""Verifying and revoking JWT access tokens (RFC 9068 §4, RFC 7009).

Verification allows only the algorithms of our own published keys, so ``alg: none`` and HS256
keyed with a public key (RFC 8725 §2.1, §3.1) cannot pass; it checks ``typ``, ``iss``, ``aud``,
``exp`` and the revocation list. A revoked token's ``jti`` sits in the store until the token would
have expired anyway.

A user's access token names its login's refresh-token family (``login_id``). When the family is
revoked (reuse detected, RFC 9700 §4.14.2; a refresh token revoked, RFC 7009 §2.1: "SHOULD also
invalidate all access tokens based on the same authorization grant"; logout, a block, a consent
withdrawn), its id goes on the same list for one access-token lifetime, and every access token of
that login is refused here from then on, at Protekt's own endpoints (``/userinfo``, ``/mfa/*``).
Other resource servers that check signatures alone cannot see it: they learn of revocations
through short lifetimes (README).

The list lives in Redis. A Redis that comes back empty (a restart without persistence, a failover
to a replica that had not caught up) would forget every revocation, so the list carries a note
of when it began, written when the server starts and kept with no expiry. A list without the note
has lost its entries: the note is written anew, and every access token issued before it is
refused here: it fails closed, and the client refreshes or logs in again.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from authserver.errors import InvalidToken
from authserver.store import Namespace
from authserver.tokens.keys import CLOCK_SKEW, KeyRing

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (RFC 9068 §2.1 header value)
LOGIN_ID = "login_id"  # the claim naming the login's refresh-token family
_REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
_FAMILY = "family:"  # the revocation list's keys: a jti, or this prefix and a family id
_BEGAN = "list:began"  # when the list began (Unix seconds): gone when Redis lost the list
_KEEP = 10 * 365 * 86400.0  # the note's lifetime: as good as for ever
LIST_LOST = ("The access token was issued before this server lost its revocation list; use the "
             "refresh token or log in again.")


class AccessTokens:
    """Checks access tokens this server issued."""

    def __init__(self, keyring: KeyRing, revoked: Namespace, issuer: str,
                 lifetime: int) -> None:
        self._keyring = keyring
        self._revoked = revoked
        self._issuer = issuer
        self._lifetime = lifetime + CLOCK_SKEW.total_seconds()

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The token's claims, or InvalidToken."""
        claims = self.decode(token)
        if claims is None:
            raise InvalidToken()
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in aud:
            raise InvalidToken("The access token is not meant for this API (aud).")
        login = claims.get(LOGIN_ID)
        listed = [claims["jti"], *([_FAMILY + login] if isinstance(login, str) else [])]
        began, *entries = self._revoked.get_many(_BEGAN, *listed)
        if any(entry is not None for entry in entries):
            raise InvalidToken("The access token has been revoked.")
        if began is None:
            self.begin_list()
        if began is None or int(claims["iat"]) < int(began):
            raise InvalidToken(LIST_LOST)
        return claims

    def begin_list(self) -> None:
        """Note now as the revocation list's beginning, unless it has one (see above)."""
        self._revoked.put_if_absent(_BEGAN, str(int(time.time())).encode(), _KEEP)

    def decode(self, token: str) -> dict[str, Any] | None:
        """Signature, typ, iss and times checked; None if any fails (audience not checked)."""
        decoded = signed_by_us(self._keyring, token)
        if decoded is None:
            return None
        header, claims = decoded
        if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYP, "application/at+jwt"):
            return None
        if any(name not in claims for name in _REQUIRED) or claims["iss"] != self._issuer:
            return None
        return claims if _current(claims, time.time()) else None

    def revoke(self, claims: dict[str, Any]) -> None:
        """Refuse this token from now until it expires."""
        self.revoke_id(claims["jti"], claims["exp"] - time.time())

    def revoke_id(self, jti: str, remaining: float) -> None:
        """Refuse the token of this ``jti`` for the ``remaining`` seconds of its life."""
        if remaining > 0:
            self._revoked.put(jti, b"1", remaining)

    def revoke_login(self, family_id: str) -> None:
        """Refuse every access token of the login whose refresh family this is, for as long as
        any of them can live."""
        self._revoked.put(_FAMILY + family_id, b"1", self._lifetime)


def signed_by_us(keyring: KeyRing, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and claims of a JWT signed with one of our keys, in one of their algorithms
    (RFC 8725 §3.1); None when it is not. Nothing else is checked."""
    try:
        kid = str(extract_compact(token.encode()).protected.get("kid", ""))
        keys = keyring.verification_keys(kid)
        decoded = jwt.decode(token, KeySet([k.private for k in keys]),
                             algorithms=sorted({k.alg for k in keys}))
    except (JoseError, ValueError, TypeError):
        return None
    return dict(decoded.header), dict(decoded.claims)


def _current(claims: dict[str, Any], now: float) -> bool:
    """Not expired, not issued in the future, already valid (RFC 7519 §4.1.4-4.1.6)."""
    times = [claims["exp"], claims["iat"], claims.get("nbf", claims["iat"])]
    if not all(isinstance(t, int) for t in times):
        return False
    exp, iat, nbf = times
    latest = now + CLOCK_SKEW.total_seconds()
    return exp > now and iat <= latest and nbf <= latest
