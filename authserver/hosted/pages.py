"""The hosted pages (OIDC Core §3.1.2.3): sign-in (password or passkey), the second factor,
its enrollment during sign-in, and consent. Each step's POST goes back to ``/authorize/resume``,
which decides what comes next (:mod:`authserver.hosted.authorize`). A refusal shows the form
again with the reason (and ``Retry-After`` past a limit); a second step whose mfa_token has
expired or is void starts the sign-in again from the password. The passkey prompts get their
options as JSON from the page's script (``static/passkeys.js``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for

from authserver.accounts.interactions import Interaction
from authserver.errors import (
    AccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    ProtektError,
    TooManyAttempts,
)
from authserver.flows.factor_management import Enrollment
from authserver.flows.hosted_signin import Authenticated
from authserver.grants.authorization_code import AUDIENCE_ITEM
from authserver.hosted.authorize import (
    consent_items,
    current_interaction,
    redirect_error,
    signed_in,
    trusted_redirect,
)
from authserver.hosted.web import (
    bp,
    hosted,
    page,
    set_trust,
    signin_state,
    update_signin,
    who,
)
from authserver.mfa.factors import WebauthnFactor
from authserver.mfa.policy import Requirement
from authserver.mfa.settings import OTP, SMS, WEBAUTHN, WEBAUTHN_FACTORS, WEBAUTHN_PLATFORM
from authserver.mfa.sms import OobAnswer
from authserver.models import Client
from authserver.pages import script_answer

Page = tuple[str, int] | tuple[str, int, list[tuple[str, str]]]
SCOPE_TEXT = {
    "openid": "Know who you are",
    "profile": "See your name, username, picture and language",
    "email": "See your email address",
    "phone": "See your phone number (the one that receives your sign-in codes)",
    "offline_access": "Stay connected when you are not using it",
    "groups": "See the groups you belong to",
    "enroll": "Add sign-in factors to your account",
    "read:authenticators": "See your sign-in factors",
    "remove:authenticators": "Remove your sign-in factors",
}


def _consent_text(item: str) -> str:
    """What a scope, or an API the app will call, means to the user."""
    if item.startswith(AUDIENCE_ITEM):
        return f"Call {item.removeprefix(AUDIENCE_ITEM)} for you"
    return SCOPE_TEXT.get(item, item)


def _requirement(interaction: Interaction, client: Client) -> Requirement:
    """What this sign-in's user may answer with, or must enroll."""
    return hosted().requirement(interaction.user_id or "", client,
                                interaction.params.get("acr_values", ""))


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
    passkeys = hosted().passkeys_enabled()
    if request.method == "GET":
        return page("signin.html", client=client, passkeys=passkeys,
                    email=interaction.params.get("login_hint", ""))
    email = request.form.get("email", "")
    try:
        done = hosted().password(email, request.form.get("password", ""), who(client))
    except ProtektError as refused:
        return _refused(refused, "signin.html", client=client, email=email, passkeys=passkeys)
    return _signed_in(interaction, done)


def _signed_in(interaction: Interaction, done: Authenticated) -> Response:
    """The first step is done: on to what /authorize decides next."""
    hosted().interactions.save(interaction.but(
        user_id=done.user.id, amr=done.amr, auth_time=done.auth_time, fresh=True, session=False))
    update_signin(mfa_token=None, oob_code=None, passkey_session=None)
    return _resume()


@bp.post("/signin/passkey/options")
def passkey_options() -> Response:
    """A passwordless sign-in's prompt: its passkey_session stays in the sign-in cookie."""
    _, client = _step()

    def make() -> dict[str, Any]:
        passkey_session, options = hosted().passkey_options(who(client))
        update_signin(passkey_session=passkey_session)
        return options

    return script_answer(make)


@bp.post("/signin/passkey")
def passkey() -> Page | Response:
    """The browser's answer to the passkey prompt (conditional UI or the button)."""
    interaction, client = _step()
    try:
        done = hosted().passkey(signin_state().get("passkey_session", ""),
                                request.form.get("credential", ""), who(client))
    except ProtektError as refused:
        update_signin(passkey_session=None)
        return _refused(refused, "signin.html", client=client, email="", passkeys=True)
    return _signed_in(interaction, done)


# second factor -----------------------------------------------------------------------------

def _mfa_token() -> str:
    mfa_token = signin_state().get("mfa_token")
    if mfa_token is None:
        raise InvalidRequest("This sign-in has no second step in progress. Go back to the "
                             "application and sign in again.")
    return mfa_token


def _mfa_page(client: Client, *, status: int = 200, **context: Any) -> tuple[str, int]:
    return page("mfa.html", status, client=client, factors=_factors(client),
                sms_sent="oob_code" in signin_state(), remember_days=hosted().remember_days(),
                **context)


def _factors(client: Client) -> tuple[str, ...]:
    """What the second step offers (while its mfa_token lives: the refusal that ended it is
    shown with the form); a step offering nothing says so."""
    try:
        factors = hosted().factors(_mfa_token(), who(client))
    except (ExpiredToken, InvalidGrant, TooManyAttempts):
        factors = _requirement(current_interaction(), client).factors
    if not factors:
        raise InvalidRequest("This account needs a second factor besides a passkey, and has "
                             "none enrolled: sign in with the password.")
    return factors


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
    if request.form.get("remember") and hosted().remember_days():
        label = request.headers.get("User-Agent", "")
        set_trust(hosted().remember(done.user, label, who(client)), hosted().remember_days())
    return _resume()


@bp.post("/signin/mfa/webauthn")
def webauthn_options() -> Response:
    """The options of the passkey prompt for the second step."""
    _, client = _step()
    return script_answer(lambda: hosted().webauthn_options(_mfa_token(), who(client)))


def _answer(factor: str) -> Any:
    code = request.form.get("code", "").strip()
    if factor == WEBAUTHN:
        return WebauthnFactor.parse(code)
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
    return _refused(error, "mfa.html", client=client, factors=_factors(client),
                    sms_sent="oob_code" in signin_state(),
                    remember_days=hosted().remember_days())


def _start_over(interaction: Interaction, client: Client, error: ProtektError) -> Page:
    hosted().interactions.save(interaction.but(user_id=None, amr=(), auth_time=None,
                                               fresh=False, session=False))
    update_signin(mfa_token=None, oob_code=None)
    html, status = page("signin.html", error.status_code, client=client, email="",
                        error=f"{error.get_error_description()} Sign in again.")
    return html, status


@bp.post("/signin/mfa/sms")
def send_sms() -> Page | Response:
    _, client = _step()
    try:
        update_signin(oob_code=hosted().send_sms(_mfa_token(), who(client)))
    except ProtektError as refused:
        return _refused(refused, "mfa.html", client=client, sms_sent=False,
                        factors=_factors(client))
    return redirect(url_for("hosted.mfa"), 303)


# enrollment during sign-in -------------------------------------------------------------------

@bp.get("/signin/enroll")
def enroll() -> Page:
    interaction, client = _step()
    factors = _requirement(interaction, client).factors
    return page("enroll.html", client=client, factors=factors)


@bp.post("/signin/enroll/app")
def enroll_app() -> Page:
    """An authenticator app: its QR code and key, and the form for its first code."""
    interaction, client = _step()
    try:
        app = hosted().enroll(_mfa_token(), Enrollment(OTP), who(client))
    except ProtektError as refused:
        return _refused(refused, "enroll.html", client=client,
                        factors=_requirement(interaction, client).factors)
    return page("enroll_app.html", client=client, app=app,
                recovery_codes=app.get("recovery_codes", []))


@bp.post("/signin/enroll/passkey")
def enroll_passkey() -> Page:
    """A passkey or security key: the page creates it in the browser, then answers the second
    step with its registration (which activates it)."""
    interaction, client = _step()
    kind = request.form.get("kind", WEBAUTHN_PLATFORM)
    try:
        if kind not in WEBAUTHN_FACTORS:
            raise InvalidRequest("Choose a passkey or a security key.")
        created = hosted().enroll(_mfa_token(), Enrollment(kind), who(client))
    except ProtektError as refused:
        return _refused(refused, "enroll.html", client=client,
                        factors=_requirement(interaction, client).factors)
    return page("enroll_passkey.html", client=client, options=created["options"], kind=kind,
                recovery_codes=created.get("recovery_codes", []))


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
                        factors=_requirement(interaction, client).factors)
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
