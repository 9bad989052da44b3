"""The signed-in user's side of the app: the SDK client, the tokens kept server-side, sign-in
completion and sign-out. Views call these helpers; nothing here renders a page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Response, current_app, g, redirect, url_for
from session_store import Session, SessionStore, State

from protekt import Jwks, KeysUnavailable, Protekt, ProtektError
from protekt.errors import NETWORK_ERROR

EXTENSION = "protekt_webapp"
WRONG_CODE = "Invalid verification code. Check the code and try again."
RECOVERY_CODE = "recovery-code"  # the factor's name in available_factors and listings
Page = Response | tuple[str, int] | str  # what a view returns
REFRESH_MARGIN = 30  # seconds: refresh an access token this long before it expires
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "EdDSA")
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat")  # required, OIDC Core §2
UNAVAILABLE = "Protekt is unavailable, try again in a moment."


class SignedOut(Exception):
    """The user's tokens are gone or no longer accepted: they must sign in again."""


class IdTokenVerifier:
    """Checks an ID token's signature with Protekt's keys, and its issuer and audience."""

    def __init__(self, issuer: str, client_id: str, jwks: Jwks | None = None) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._jwks = jwks or Jwks(f"{self._issuer}/.well-known/jwks.json")

    def claims(self, id_token: str) -> dict[str, Any]:
        """The verified claims (OIDC Core §3.1.3.7), or ProtektError ``invalid_id_token``.

        KeysUnavailable when Protekt's keys cannot be fetched: the token is neither good nor bad.
        """
        try:
            header = jwt.get_unverified_header(id_token)
            key = self._jwks.key(str(header.get("kid", "")))
            if key is None or key.algorithm_name not in ID_TOKEN_ALGORITHMS:
                raise jwt.InvalidTokenError("unknown signing key")
            return jwt.decode(id_token, key.key, algorithms=[key.algorithm_name],
                              audience=self._client_id, issuer=self._issuer, leeway=5,
                              options={"require": list(ID_TOKEN_CLAIMS)})
        except jwt.InvalidTokenError as exc:
            raise ProtektError("invalid_id_token", "Protekt's ID token did not verify.") from exc


@dataclass
class Webapp:
    """What the app keeps per process: the SDK client and the server-side sessions."""

    client: Protekt
    sessions: SessionStore
    id_tokens: IdTokenVerifier


def webapp() -> Webapp:
    """This app's Webapp."""
    return current_app.extensions[EXTENSION]


def protekt() -> Protekt:
    """The SDK client."""
    return webapp().client


def user_session() -> Session:
    """This browser's server-side session (not stored until it holds something)."""
    return g.user_session


def state() -> State:
    """This browser session's server-side state."""
    return user_session().state


def csrf_token() -> str:
    """The session's CSRF token, made when a form first needs it."""
    return state().setdefault("csrf_token", secrets.token_urlsafe(32))


def rotate_session() -> None:
    """Give the session a new id and CSRF token: the old id and forms stop working."""
    state().pop("csrf_token", None)
    webapp().sessions.rotate(user_session())


def notify(text: str) -> None:
    """Show text once, on the next page rendered."""
    state().setdefault("notices", []).append(text)


def signed_in() -> bool:
    """Whether this session holds tokens."""
    return "tokens" in state()


def access_token() -> str:
    """The user's access token, refreshed (and the refresh token rotated) when about to expire.

    Concurrent requests of one session refresh one at a time: a refresh token is spent once,
    and a second use would make Protekt revoke the whole family, signing the user out.
    """
    with user_session().lock:
        tokens = state().get("tokens")
        if tokens is None:
            raise SignedOut("Please sign in.")
        if tokens["expires_at"] - REFRESH_MARGIN <= time.time():
            _refresh(tokens["refresh_token"])
        return state()["tokens"]["access_token"]


def _refresh(refresh_token: str | None) -> None:
    """Keep new tokens for the refresh token; SignedOut when there is none or it is refused."""
    if refresh_token is None:
        raise SignedOut("Your session has expired. Please sign in again.")
    try:
        _keep_tokens(protekt().authentication.refresh(refresh_token))
    except ProtektError as error:
        if error.error == "invalid_grant":
            raise SignedOut("Your session has ended. Please sign in again.") from error
        raise


def complete_sign_in(tokens: dict[str, Any]) -> Response:
    """Keep the tokens and the user's claims, renew the session id, go where the user was going.

    When the ID token cannot be verified (ProtektError ``invalid_id_token``, or KeysUnavailable
    while Protekt's keys cannot be fetched), the refresh token just issued is revoked, the
    sign-in in progress (its mfa_token now spent) is dropped, and the error is raised.
    """
    current = state()
    try:
        claims = webapp().id_tokens.claims(tokens["id_token"])
    except (KeysUnavailable, ProtektError):
        current.pop("login", None)
        revoke(tokens.get("refresh_token"))
        raise
    current.pop("login", None)
    current["user"] = {"email": claims.get("email", claims["sub"]), "sub": claims["sub"],
                       "amr": list(claims.get("amr", []))}
    with user_session().lock:
        _keep_tokens(tokens)
    rotate_session()
    if "recovery_codes_remaining" in tokens:
        notify(f"Recovery code accepted. You have {tokens['recovery_codes_remaining']} "
               "recovery codes left.")
    return redirect(current.pop("return_to", None) or url_for("account.home"))


def end_session(notice: str, keep: Iterable[str] = ()) -> Response:
    """Revoke the refresh token, forget the session (except the ``keep`` keys), go to sign-in."""
    current = state()
    with user_session().lock:
        if not revoke(current.get("tokens", {}).get("refresh_token")):
            notice += " (Protekt could not be reached to revoke the session's refresh token.)"
        kept = {key: current[key] for key in keep if key in current}
        current.clear()
        current.update(kept)
    rotate_session()
    notify(notice)
    return redirect(url_for("signin.sign_in"))


def revoke(refresh_token: str | None) -> bool:
    """Revoke a refresh token (and its family) if there is one; False if Protekt refused."""
    if refresh_token is None:
        return True
    try:
        protekt().authentication.revoke(refresh_token, "refresh_token")
    except ProtektError:
        return False
    return True


def describe(error: ProtektError) -> str:
    """What to tell the user about a refusal: the server's own words, and when to retry."""
    if error.error == NETWORK_ERROR:
        return "Protekt did not answer. Please try again in a moment."
    text = error.error_description or f"Protekt refused the request ({error.error})."
    return text + retry_hint(error)


def retry_hint(error: ProtektError) -> str:
    """When to retry, from the server's Retry-After; empty when it is a second or less."""
    if error.retry_after is None or error.retry_after <= 1:
        return ""
    return f" Please wait {error.retry_after} seconds before trying again."


def _keep_tokens(tokens: dict[str, Any]) -> None:
    """Keep a token response; without a new refresh token, the current one stays."""
    previous = state().get("tokens", {})
    state()["tokens"] = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token", previous.get("refresh_token")),
        "expires_at": time.time() + int(tokens.get("expires_in", 0)),
    }
