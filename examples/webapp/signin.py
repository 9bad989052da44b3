"""Sign-in by redirect (OpenID Connect authorization code flow with PKCE, on the Python SDK):
``/login`` sends the browser to Protekt's own sign-in pages, where the user types their password
and answers their second factor; ``/callback`` exchanges the code Protekt sends back for tokens.
Also the step-up (sign in again with ``acr_values`` when Protekt wants a second factor) and
sign-out (here, then at Protekt with RP-Initiated Logout).

Each sign-in in progress keeps its ``state`` and PKCE verifier in the server-side session, at
most ``PENDING_SIGN_INS`` at once (several tabs), each used once.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from user_session import (
    UNAVAILABLE,
    Page,
    complete_sign_in,
    describe,
    forget_user,
    notify,
    protekt,
    signed_in,
    state,
    webapp,
)

from protekt import NETWORK_ERROR, ProtektError

bp = Blueprint("signin", __name__)

#: What the app asks for: an ID token with the user's profile and email, a refresh token
#: (offline_access), and an access token that manages the user's own factors at Protekt's /mfa.
SCOPE = "openid profile email offline_access enroll read:authenticators remove:authenticators"
#: acr_values of a step-up: Protekt asks for a second factor if the sign-in has none (OIDC Core
#: §3.1.2.1; OpenID PAPE 1.0 §4).
MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PENDING_SIGN_INS = 5
STEPPED_UP = "Second factor confirmed: you can now change your security settings."


@bp.get("/login")
def sign_in() -> Page:
    """Start a sign-in at Protekt (unless already signed in)."""
    if signed_in():
        return redirect(url_for("account.home"))
    return start_sign_in()


def start_sign_in(*, acr_values: str | None = None, return_to: str | None = None,
                  notice: str | None = None) -> Response:
    """Keep a new sign-in's state and verifier (and where to go after it), and send the browser
    to Protekt's authorization endpoint."""
    url, sign_in_state, verifier = protekt().authorization_url(
        webapp().callback_url, scope=SCOPE, acr_values=acr_values)
    pending = state().get("sign_ins", [])[-(PENDING_SIGN_INS - 1):]
    state()["sign_ins"] = [*pending, {"state": sign_in_state, "verifier": verifier,
                                      "return_to": return_to, "notice": notice}]
    return redirect(url, 303)


@bp.get("/callback")
def callback() -> Page:
    """Protekt's answer to a sign-in: a code to exchange for tokens, or why there is none."""
    started = take_pending(request.args.get("state", ""))
    if started is None:
        return render_template("error.html", sign_in_again=True, message=(
            "This sign-in was not started in this browser, or it is already finished. If you "
            f"opened the app at another address than {webapp().url}, use that one.")), 400
    iss = request.args.get("iss")
    if iss is not None and iss != protekt().issuer:
        return render_template("error.html", sign_in_again=True, message=(
            "The answer to this sign-in does not come from Protekt.")), 400
    if "error" in request.args:
        notify("The sign-in did not complete: "
               + request.args.get("error_description", request.args["error"]))
        return redirect(url_for("account.home"))
    try:
        tokens = protekt().exchange_code(
            request.args.get("code", ""), webapp().callback_url, started["verifier"],
            state=request.args.get("state"), expected_state=started["state"], iss=iss)
    except ProtektError as error:
        return sign_in_failed(error)
    if started["notice"]:
        notify(started["notice"])
    return complete_sign_in(tokens, started["return_to"])


def take_pending(sign_in_state: str) -> dict[str, Any] | None:
    """The sign-in of this session waiting for ``sign_in_state``, removed (each is used once);
    compared in constant time."""
    pending = state().get("sign_ins", [])
    found = next((kept for kept in pending
                  if hmac.compare_digest(kept["state"].encode(), sign_in_state.encode())), None)
    if found is not None:
        state()["sign_ins"] = [kept for kept in pending if kept is not found]
    return found


def sign_in_failed(error: ProtektError) -> tuple[str, int]:
    """The code could not be exchanged, or the ID token could not be checked."""
    if error.error == NETWORK_ERROR:
        return render_template("error.html", message=UNAVAILABLE, sign_in_again=True), 503
    status = error.status if error.status is not None and error.status >= 400 else 502
    return render_template("error.html", message=describe(error), sign_in_again=True), status


def step_up() -> Page:
    """Protekt wants a sign-in with a second factor before the user's factors change: sign in
    again asking for it (``acr_values``), and come back to the security settings.

    Protekt's sign-in session already knows the user, so only the second factor is asked. If
    this session has a second factor already, asking again would go round in circles: the
    refusal is shown instead.
    """
    if "mfa" in state().get("user", {}).get("amr", []):
        return render_template("error.html", message=(
            "Protekt asks for a second factor, but this session already has one. Sign out and "
            "sign in again.")), 403
    return start_sign_in(acr_values=MULTI_FACTOR, return_to=url_for("account.settings"),
                         notice=STEPPED_UP)


@bp.post("/logout")
def sign_out() -> Response:
    """Forget the user here (the refresh token revoked), then end their sign-in at Protekt too:
    Protekt's logout sends the browser back to the app's start page."""
    id_token = state().get("id_token")
    forget_user("You are signed out.")
    if id_token is None:
        return redirect(url_for("account.home"), 303)
    try:
        return redirect(protekt().logout_url(id_token, webapp().home_url), 303)
    except ProtektError:
        notify("Protekt could not be reached to end your sign-in there.")
        return redirect(url_for("account.home"), 303)
