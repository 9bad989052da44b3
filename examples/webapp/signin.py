"""Sign-in as the MFA guide describes it: email and password; then, when Protekt answers
``mfa_required``, the second factor the user picks, challenged and verified with the same
mfa_token. Also sign-out, and the step-up sign-in the security pages ask for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from user_session import (
    RECOVERY_CODE,
    UNAVAILABLE,
    WRONG_CODE,
    Page,
    complete_sign_in,
    describe,
    end_session,
    notify,
    protekt,
    retry_hint,
    signed_in,
    state,
)

from protekt import KeysUnavailable, ProtektError

bp = Blueprint("signin", __name__)

FACTORS = {  # available_factors value → (button label, what the user will do)
    "otp": ("Authenticator app", "Use the 6-digit code from your app."),
    "sms": ("Text message (SMS)", "We send a 6-digit code to your phone."),
    RECOVERY_CODE: ("Recovery code", "Use one of the codes you saved."),
}
PROMPTS = {
    "otp": "Enter the 6-digit code your authenticator app shows.",
    "sms": "We sent a 6-digit code to your phone by text message. Enter it here.",
    RECOVERY_CODE: "Enter one of the recovery codes you saved when you set up MFA.",
}
TOO_SLOW = "Your sign-in took too long. Please sign in again."
Login = dict[str, Any]


def with_login(view: Callable[..., Page]) -> Callable[..., Page]:
    """Run view with the sign-in in progress; without one, back to the sign-in form."""

    @wraps(view)
    def guarded() -> Page:
        login = state().get("login")
        if login is None:
            return redirect(url_for(".sign_in"))
        return view(login)

    return guarded


@bp.get("/login")
def sign_in() -> Page:
    """The email and password form."""
    if signed_in():
        return redirect(url_for("account.home"))
    return render_template("login.html", email=state().get("email", ""))


@bp.post("/login")
def submit_password() -> Page:
    """Password grant; on ``mfa_required``, keep the mfa_token and ask for a second factor."""
    email = request.form.get("email", "").strip()
    state()["email"] = email
    try:
        result = protekt().authentication.login(
            {"username": email, "password": request.form.get("password", "")})
    except ProtektError as error:
        return render_template("login.html", email=email, error=describe(error)), 400
    if not result.get("mfa_required"):
        return finish_sign_in(result)
    state()["login"] = {"email": email, "mfa_token": result["mfa_token"],
                        "factors": [f for f in result["available_factors"] if f in FACTORS],
                        "enroll": "enroll" in result["mfa_requirements"]}
    return redirect(url_for(".choose_factor"))


@bp.get("/mfa")
@with_login
def choose_factor(login: Login) -> Page:
    """The second factors the user may use."""
    return render_choices(login)


@bp.post("/mfa")
@with_login
def challenge(login: Login) -> Page:
    """Challenge the chosen factor (an SMS goes out now); a recovery code needs no challenge."""
    factor = request.form.get("factor", "")
    if factor not in login["factors"]:
        abort(400)
    if factor != RECOVERY_CODE:
        try:
            protekt().mfa.challenge({"mfa_token": login["mfa_token"], "challenge_type": factor})
        except ProtektError as error:
            if error.error == "expired_token":
                return restart(TOO_SLOW)
            return render_choices(login, describe(error), 400)
    login["factor"] = factor
    return redirect(url_for(".enter_code"))


@bp.get("/mfa/code")
@with_login
def enter_code(login: Login) -> Page:
    """The code form for the chosen factor."""
    if "factor" not in login:
        return redirect(url_for(".choose_factor"))
    return render_code(login)


@bp.post("/mfa/code")
@with_login
def verify_code(login: Login) -> Page:
    """Exchange the mfa_token and the code for tokens; a wrong code may be retried."""
    factor = login.get("factor")
    if factor is None:
        return redirect(url_for(".choose_factor"))
    code = "".join(request.form.get("code", "").split())
    answer = "recovery_code" if factor == RECOVERY_CODE else "otp"
    try:
        tokens = protekt().mfa.verify({"mfa_token": login["mfa_token"], answer: code})
    except ProtektError as error:
        return code_refused(login, error)
    return finish_sign_in(tokens)


def finish_sign_in(tokens: dict[str, Any]) -> Page:
    """Complete the sign-in; while Protekt's keys cannot be fetched to verify the ID token, the
    tokens are revoked and the user is asked to sign in again in a moment."""
    try:
        return complete_sign_in(tokens)
    except KeysUnavailable:
        return render_template("login.html", email=state().get("email", ""),
                               error=UNAVAILABLE), 503


def code_refused(login: Login, error: ProtektError) -> Page:
    """A refused code: retry on the same page, ask for a new SMS, or start over."""
    if error.error in ("invalid_grant", "invalid_request"):
        return render_code(login, WRONG_CODE, 400)
    if error.error == "expired_token" and login["factor"] == "sms":
        del login["factor"]  # the SMS code expired; the mfa_token may still be good
        return render_choices(login, "The code has expired. Ask for a new one.", 400)
    if error.error == "expired_token":
        return restart(TOO_SLOW)
    if error.error == "too_many_attempts":
        return restart("Too many attempts. Please sign in again." + retry_hint(error))
    raise error


@bp.post("/logout")
def sign_out() -> Page:
    """Revoke the refresh token and forget the session."""
    return end_session("You are signed out.")


@bp.post("/step-up")
def step_up() -> Page:
    """Sign out, then sign in again with a second factor, back to the security settings."""
    current = state()
    current["email"] = current.get("user", {}).get("email", "")
    current["return_to"] = url_for("account.settings")
    return end_session("Sign in again with your second factor to change your security settings.",
                       keep=("email", "return_to"))


def restart(notice: str) -> Response:
    """Drop the sign-in in progress and go back to the password form."""
    state().pop("login", None)
    notify(notice)
    return redirect(url_for(".sign_in"))


def render_choices(login: Login, error: str | None = None, status: int = 200) -> Page:
    """The factor choice page."""
    return render_template("mfa_choose.html", login=login, factors=FACTORS, error=error), status


def render_code(login: Login, error: str | None = None, status: int = 200) -> Page:
    """The code page for the chosen factor."""
    factor = login["factor"]
    return render_template("mfa_code.html", factor=factor, label=FACTORS[factor][0],
                           prompt=PROMPTS[factor], error=error), status
