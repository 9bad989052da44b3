"""The hosted pages (OIDC Core §3.1.2.3): sign-in, the second factor, its enrollment during
sign-in, and consent. Each step's POST goes back to ``/authorize/resume``, which decides what
comes next (:mod:`authserver.hosted.authorize`). A refusal shows the form again with the reason
(and ``Retry-After`` past a limit); a second step whose mfa_token has expired or is void starts
the sign-in again from the password.
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for

from authserver.accounts.interactions import Interaction
from authserver.errors import AccessDenied, InvalidRequest, ProtektError
from authserver.flows.factor_management import Enrollment
from authserver.grants.authorization_code import AUDIENCE_ITEM
from authserver.hosted.authorize import (
    consent_items,
    current_interaction,
    redirect_error,
    signed_in,
    trusted_redirect,
)
from authserver.hosted.web import bp, hosted, page, signin_state, update_signin, who
from authserver.mfa.settings import OTP, SMS
from authserver.mfa.sms import OobAnswer
from authserver.models import Client

Page = tuple[str, int] | tuple[str, int, list[tuple[str, str]]]
SCOPE_TEXT = {
    "openid": "Know who you are",
    "profile": "See your name, username, picture and language",
    "email": "See your email address",
    "phone": "See your phone number (the one that receives your sign-in codes)",
    "offline_access": "Stay connected when you are not using it",
    "enroll": "Add sign-in factors to your account",
    "read:authenticators": "See your sign-in factors",
    "remove:authenticators": "Remove your sign-in factors",
}


def _consent_text(item: str) -> str:
    """What a scope, or an API the app will call, means to the user."""
    if item.startswith(AUDIENCE_ITEM):
        return f"Call {item.removeprefix(AUDIENCE_ITEM)} for you"
    return SCOPE_TEXT.get(item, item)


def _step() -> tuple[Interaction, Client]:
    interaction = current_interaction()
    client, _ = trusted_redirect(interaction.params)
    return interaction, client


def _refused(error: ProtektError, template: str, **context: Any) -> Page:
    """The form again with the reason; a server-side failure goes to the error page."""
    if error.status_code >= 500:
        raise error
    html, status = page(template, error.status_code, error=error.get_error_description(),
                        **context)
    return html, status, [(k, v) for k, v in error.get_headers() if k == "Retry-After"]


def _resume() -> Response:
    return redirect(url_for("hosted.resume"), 303)


# sign-in ---------------------------------------------------------------------------------

@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Page | Response:
    interaction, client = _step()
    if request.method == "GET":
        return page("signin.html", client=client, email=interaction.params.get("login_hint", ""))
    email = request.form.get("email", "")
    try:
        done = hosted().password(email, request.form.get("password", ""), who(client))
    except ProtektError as refused:
        return _refused(refused, "signin.html", client=client, email=email)
    hosted().interactions.save(interaction.but(
        user_id=done.user.id, amr=done.amr, auth_time=done.auth_time, fresh=True, session=False))
    update_signin(mfa_token=None, oob_code=None)
    return _resume()


# second factor -----------------------------------------------------------------------------

def _mfa_token() -> str:
    mfa_token = signin_state().get("mfa_token")
    if mfa_token is None:
        raise InvalidRequest("This sign-in has no second step in progress. Go back to the "
                             "application and sign in again.")
    return mfa_token


def _mfa_page(client: Client, *, status: int = 200, **context: Any) -> tuple[str, int]:
    ticket = hosted().ticket(_mfa_token(), who(client))
    factors = hosted().requirement(ticket.user_id).factors
    return page("mfa.html", status, client=client, factors=factors,
                sms_sent="oob_code" in signin_state(), **context)


@bp.route("/signin/mfa", methods=["GET", "POST"])
def mfa() -> Page | Response:
    interaction, client = _step()
    if request.method == "GET":
        return _mfa_page(client)
    factor = request.form.get("factor", "")
    try:
        done = hosted().verify(_mfa_token(), factor, _answer(factor), who(client),
                               interaction.amr)
    except ProtektError as wrong:
        return _wrong_code(wrong, interaction, client)
    hosted().interactions.save(interaction.but(user_id=done.user.id, amr=done.amr,
                                               auth_time=done.auth_time))
    update_signin(mfa_token=None, oob_code=None)
    return _resume()


def _answer(factor: str) -> str | OobAnswer:
    code = request.form.get("code", "").strip()
    if factor != SMS:
        return code
    oob_code = signin_state().get("oob_code")
    if oob_code is None:
        raise InvalidRequest("Ask for a text message first.")
    return OobAnswer(oob_code, code)


def _wrong_code(error: ProtektError, interaction: Interaction, client: Client) -> Page:
    """The page again with the reason; from the password again when the mfa_token is over."""
    try:
        hosted().ticket(_mfa_token(), who(client))
    except ProtektError as over:
        if over.status_code >= 500:
            raise
        return _start_over(interaction, client, error)
    return _refused(error, "mfa.html", client=client,
                    factors=hosted().requirement(interaction.user_id or "").factors,
                    sms_sent="oob_code" in signin_state())


def _start_over(interaction: Interaction, client: Client, error: ProtektError) -> Page:
    hosted().interactions.save(interaction.but(user_id=None, amr=(), auth_time=None,
                                               fresh=False, session=False))
    update_signin(mfa_token=None, oob_code=None)
    html, status = page("signin.html", error.status_code, client=client, email="",
                        error=f"{error.get_error_description()} Sign in again.")
    return html, status


@bp.post("/signin/mfa/sms")
def send_sms() -> Page | Response:
    interaction, client = _step()
    try:
        update_signin(oob_code=hosted().send_sms(_mfa_token(), who(client)))
    except ProtektError as refused:
        return _refused(refused, "mfa.html", client=client, sms_sent=False,
                        factors=hosted().requirement(interaction.user_id or "").factors)
    return redirect(url_for("hosted.mfa"), 303)


# enrollment during sign-in -------------------------------------------------------------------

@bp.get("/signin/enroll")
def enroll() -> Page:
    interaction, client = _step()
    factors = hosted().requirement(interaction.user_id or "").factors
    return page("enroll.html", client=client, factors=factors)


@bp.post("/signin/enroll/app")
def enroll_app() -> Page:
    """An authenticator app: its QR code and key, and the form for its first code."""
    interaction, client = _step()
    try:
        app = hosted().enroll(_mfa_token(), Enrollment(OTP), who(client))
    except ProtektError as refused:
        return _refused(refused, "enroll.html", client=client,
                        factors=hosted().requirement(interaction.user_id or "").factors)
    return page("enroll_app.html", client=client, app=app,
                recovery_codes=app.get("recovery_codes", []))


@bp.post("/signin/enroll/phone")
def enroll_phone() -> Page:
    """A phone: a code goes to it at once, and the form asks for it."""
    interaction, client = _step()
    number = request.form.get("phone_number", "")
    try:
        phone = hosted().enroll(_mfa_token(), Enrollment(SMS, phone_number=number), who(client))
        oob_code = phone.get("oob_code") or hosted().send_sms(_mfa_token(), who(client))
    except ProtektError as refused:
        return _refused(refused, "enroll.html", client=client, phone_number=number,
                        factors=hosted().requirement(interaction.user_id or "").factors)
    update_signin(oob_code=oob_code)
    return page("enroll_phone.html", client=client, recovery_codes=phone.get("recovery_codes", []))


# consent -------------------------------------------------------------------------------------

@bp.route("/signin/consent", methods=["GET", "POST"])
def consent() -> Page | Response:
    interaction, client = _step()
    if interaction.user_id is not None and not interaction.session:  # OIDC Core §3.1.2.4
        raise InvalidRequest("Finish signing in (your second factor too) before deciding what "
                             "this application may have.")
    auth = signed_in(interaction)
    items = consent_items(interaction.params, auth)
    if request.method == "GET":
        return page("consent.html", client=client, user=auth.user,
                    scopes=[(item, _consent_text(item)) for item in items])
    if request.form.get("decision") != "allow":
        hosted().interactions.end(interaction)
        _, redirect_uri = trusted_redirect(interaction.params)
        refusal = AccessDenied("The user did not allow the application.")
        return redirect_error(redirect_uri, refusal, interaction.params.get("state"))
    hosted().consent(auth.user.id, items, who(client))
    hosted().interactions.save(interaction.but(consented=True))
    return _resume()
