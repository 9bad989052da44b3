"""Minting the token response (RFC 6749 §5.1): JWT access token, ID token, refresh token.

Access tokens follow RFC 9068 (header ``typ: at+jwt``); ID tokens follow OIDC Core §2; ``amr``
values come from RFC 8176. The issuer adds the refresh-token rows to the caller's unit of work and
commits nothing: the use case (authserver.flows) commits them with the rest of the request, or not
at all. A use case calls :meth:`TokenIssuer.ready` before its first write: signing may create the
first key in a session of its own, and SQLite admits one writer at a time.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver.clients import REFRESH_TOKEN
from authserver.config import Settings
from authserver.models import Client, RefreshToken, User
from authserver.scopes import OPENID, format_scope
from authserver.tokens.access import ACCESS_TOKEN_TYP, LOGIN_ID
from authserver.tokens.claims import UserClaims, acr_of
from authserver.tokens.keys import KeyRing
from authserver.tokens.refresh import RefreshTokens


@dataclass(frozen=True)
class Authentication:
    """Who authenticated, how (RFC 8176 ``amr`` values) and when; ``sso_session`` is the key of
    the browser session it happened in, if any (its logout revokes the refresh tokens)."""

    user: User
    amr: tuple[str, ...]
    auth_time: datetime
    sso_session: str | None = None


@dataclass(frozen=True)
class TokenRequest:
    """What the client asked for and was allowed: scope and audience (API identifiers); the
    ``nonce`` of an OIDC authorization request; ``refresh`` False when no refresh token may come
    (the browser sign-in without ``offline_access``, OIDC Core §11)."""

    client: Client
    scope: tuple[str, ...]
    audience: tuple[str, ...] = ()
    nonce: str | None = None
    refresh: bool = True


@dataclass(frozen=True)
class Tokens:
    """A token response, whom it is for (``sub``: a user, or the client itself) and what names
    its tokens: the access token's ``jti`` and the refresh family's id, so that they can be
    revoked together (RFC 6749 §4.1.2: a replayed code)."""

    body: dict[str, Any]
    subject: str
    jti: str
    family_id: str | None


class TokenIssuer:
    """Builds token responses; the caller commits what they create."""

    def __init__(
        self, keyring: KeyRing, refresh_tokens: RefreshTokens, settings: Settings,
        claims: UserClaims,
    ) -> None:
        self._keyring = keyring
        self._refresh_tokens = refresh_tokens
        self._settings = settings
        self._claims = claims

    def ready(self) -> None:
        """Have the signing key at hand before the caller's unit of work writes anything."""
        self._keyring.active_key()

    def issue(self, authn: Authentication, request: TokenRequest) -> Tokens:
        """Tokens for a completed login; a new refresh-token family if the client may refresh.
        The family starts first, so that the access token names it (``login_id``)."""
        family_id, refresh_token = None, None
        if request.refresh and request.client.check_grant_type(REFRESH_TOKEN):
            family_id, refresh_token = self._refresh_tokens.start_family(
                user_id=authn.user.id, client_id=request.client.client_id,
                scope=format_scope(request.scope), audience=list(request.audience),
                amr=list(authn.amr), auth_time=authn.auth_time, sso_session=authn.sso_session,
            )
        body, jti = self._user_tokens(authn, request, family_id)
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return Tokens(body, authn.user.id, jti, family_id)

    def refreshed(
        self, record: RefreshToken, user: User, request: TokenRequest, ip: str | None,
    ) -> Tokens:
        """Tokens for a refresh: the login's amr and auth_time carry over; the token rotates."""
        family = record.family
        authn = Authentication(user, tuple(family.amr), family.auth_time)
        body, jti = self._user_tokens(authn, request, family.id)
        body["refresh_token"] = self._refresh_tokens.rotate(record, ip)
        return Tokens(body, user.id, jti, family.id)

    def for_client(self, request: TokenRequest) -> Tokens:
        """An access token for the client itself (RFC 6749 §4.4; RFC 9068 §2.2: sub = client)."""
        now = int(time.time())
        claims = self._access_claims(request, request.client.client_id, now)
        body = self._body(self._keyring.sign(claims, ACCESS_TOKEN_TYP), request.scope)
        return Tokens(body, request.client.client_id, claims["jti"], None)

    def _user_tokens(self, authn: Authentication, request: TokenRequest,
                     family_id: str | None) -> tuple[dict[str, Any], str]:
        """The access token (with the login's refresh family as ``login_id``, by which
        authserver.tokens.access refuses it once the family is revoked) and the ID token."""
        now = int(time.time())
        auth_time = int(authn.auth_time.timestamp())
        claims = {
            **self._access_claims(request, authn.user.id, now),
            "auth_time": auth_time,
            "amr": list(authn.amr),
            "acr": acr_of(authn.amr),
        }
        if family_id is not None:
            claims[LOGIN_ID] = family_id
        body = self._body(self._keyring.sign(claims, ACCESS_TOKEN_TYP), request.scope)
        if OPENID in request.scope:
            body["id_token"] = self._id_token(authn, request, now, auth_time)
        return body, claims["jti"]

    def _access_claims(self, request: TokenRequest, subject: str, now: int) -> dict[str, Any]:
        audience = self._audience(request)
        return {
            "iss": self._settings.issuer,
            "sub": subject,
            "aud": audience[0] if len(audience) == 1 else list(audience),
            "client_id": request.client.client_id,
            "scope": format_scope(request.scope),
            "iat": now,
            "exp": now + self._settings.access_token_ttl,
            "jti": secrets.token_urlsafe(16),
        }

    def _audience(self, request: TokenRequest) -> tuple[str, ...]:
        """The APIs asked for; the issuer's own API (userinfo) too when the scope holds openid."""
        own = self._settings.issuer
        if not request.audience:
            return (own,)
        if OPENID in request.scope and own not in request.audience:
            return (*request.audience, own)
        return request.audience

    def _id_token(self, authn: Authentication, request: TokenRequest, now: int,
                  auth_time: int) -> str:
        """OIDC Core §2: the login's facts, the ``nonce`` of the request, and the user claims
        of the scope (§5.4)."""
        client_id = request.client.client_id
        claims = {
            **self._claims.of(authn.user, client_id, request.scope),
            "iss": self._settings.issuer,
            "sub": authn.user.id,
            "aud": client_id,
            "iat": now,
            "exp": now + self._settings.id_token_ttl,
            "auth_time": auth_time,
            "amr": list(authn.amr),
            "acr": acr_of(authn.amr),
        }
        if request.nonce is not None:
            claims["nonce"] = request.nonce
        return self._keyring.sign(claims, "JWT")

    def _body(self, access_token: str, scope: tuple[str, ...]) -> dict[str, Any]:
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self._settings.access_token_ttl,
            "scope": format_scope(scope),
        }
