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

from protekt import Protekt, ProtektError
from protekt.errors import NETWORK_ERROR

EXTENSION = "protekt_webapp"
WRONG_CODE = "Invalid verification code. Check the code and try again."
RECOVERY_CODE = "recovery-code"  # the factor's name in listings
Page = Response | tuple[str, int] | str  # what a view returns
REFRESH_MARGIN = 30  # seconds: refresh an access token this long before it expires
UNAVAILABLE = "Protekt is unavailable, try again in a moment."
# What belongs to the signed-in user: forgotten at sign-out, and when another user signs in.
USER_KEYS = ("user", "tokens", "id_token", "enrollment", "recovery_codes")


class SignedOut(Exception):
    """The user's tokens are gone or no longer accepted: they must sign in again."""


@dataclass
class Webapp:
    """What the app keeps per process: the SDK client, the server-side sessions, and its own
    address (where Protekt sends the browser back)."""

    client: Protekt
    sessions: SessionStore
    url: str

    @property
    def callback_url(self) -> str:
        """The registered redirect URI: Protekt sends the sign-ins back here."""
        return f"{self.url}/callback"

    @property
    def home_url(self) -> str:
        """The registered post-logout redirect URI: Protekt's logout sends the browser here."""
        return f"{self.url}/"


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


def complete_sign_in(tokens: dict[str, Any], return_to: str | None) -> Response:
    """Keep the tokens of a finished sign-in and the user's claims, renew the session id, and go
    where the sign-in was started for.

    ``Protekt.exchange_code`` has verified the ID token (signature with Protekt's keys, issuer,
    audience, expiry, nonce), so its claims are read here without checking it again. A sign-in
    that replaces another (the step-up) revokes the refresh token it replaces; a sign-in as
    another user forgets the previous user's codes and enrollment too.
    """
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    current = state()
    with user_session().lock:
        previous = current.pop("tokens", {}).get("refresh_token")
        if previous is not None and previous != tokens.get("refresh_token"):
            revoke(previous)
        if current.get("user", {}).get("sub") != claims["sub"]:
            for key in USER_KEYS:
                current.pop(key, None)
        current["user"] = {"email": claims.get("email", claims["sub"]), "sub": claims["sub"],
                           "name": claims.get("name"), "amr": list(claims.get("amr", [])),
                           "acr": claims.get("acr")}
        current["id_token"] = tokens["id_token"]
        _keep_tokens(tokens)
    rotate_session()
    return redirect(return_to or url_for("account.home"))


def forget_user(notice: str, keep: Iterable[str] = ()) -> bool:
    """Revoke the refresh token and forget the session (except the ``keep`` keys) under a new
    id; ``notice`` is shown on the next page. False when Protekt could not revoke the token."""
    current = state()
    with user_session().lock:
        revoked = revoke(current.get("tokens", {}).get("refresh_token"))
        kept = {key: current[key] for key in keep if key in current}
        current.clear()
        current.update(kept)
    rotate_session()
    notify(notice if revoked else notice + " (Protekt could not be reached to revoke the "
                                           "session's refresh token.)")
    return revoked


def end_session(notice: str) -> Response:
    """Forget the user here (their tokens were refused or expired), and go to the start page."""
    forget_user(notice)
    return redirect(url_for("account.home"))


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
    if "id_token" in tokens:
        state()["id_token"] = tokens["id_token"]  # the newest, for the logout's id_token_hint
