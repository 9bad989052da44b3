"""Sign-in pages: email and password, then the administrator's app code or passkey (or first,
adding the app), then the recovery codes once, and a passkey to add when the settings require
one of administrators; and sign-out. The passkey prompts run the hosted pages' script
(``hosted/static/passkeys.js``), which posts the browser's answer as a form field."""

from __future__ import annotations

import time

from flask import Response, redirect, request, session, url_for

from authserver.dashboard.web import (
    admin,
    bp,
    client_ip,
    end_session,
    page,
    sign_in,
    start_session,
)
from authserver.errors import (
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    ProtektError,
    TooManyAttempts,
)
from authserver.extensions import services
from authserver.flows.dashboard_signin import SignedIn
from authserver.models import User
from authserver.pages import script_answer

Page = tuple[str, int]
Refused = tuple[str, int, list[tuple[str, str]]]  # the form again, with Retry-After if any


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Page | Refused | Response:
    if request.method == "GET":
        return page("signin.html")
    email = request.form.get("email", "")
    try:
        accepted = sign_in().password(email, request.form.get("password", ""), client_ip())
    except ProtektError as refused:
        return _refused(refused, "signin.html", email=email)
    session["signin"] = accepted.mfa_token
    session["signin_email"] = email
    step = "dashboard.signin_enroll" if accepted.enroll else "dashboard.signin_code"
    return redirect(url_for(step))


@bp.route("/signin/code", methods=["GET", "POST"])
def signin_code() -> Page | Refused | Response:
    if "signin" not in session:
        return redirect(url_for("dashboard.signin"))
    try:
        passkey = sign_in().passkey_offered(session["signin"])
    except (ExpiredToken, InvalidGrant) as ended:
        return _restart(ended)
    except TooManyAttempts:  # the step is void: the form answers so, whatever is sent
        passkey = False
    if request.method == "GET":
        return page("signin_code.html", passkey=passkey)
    return _second_factor("signin_code.html", passkey=passkey)


@bp.post("/signin/passkey/options")
def signin_passkey_options() -> Response:
    """The options of the passkey prompt for the second step, as JSON for the page's script."""
    if "signin" not in session:
        return redirect(url_for("dashboard.signin"))
    return script_answer(lambda: sign_in().passkey_options(session["signin"]))


@bp.route("/signin/enroll", methods=["GET", "POST"])
def signin_enroll() -> Page | Refused | Response:
    """A new authenticator app for an administrator who has none; a first code confirms it."""
    if "signin" not in session:
        return redirect(url_for("dashboard.signin"))
    if request.method == "GET":
        try:
            app = sign_in().new_app(session["signin"], session.get("signin_email", ""))
        except (ExpiredToken, InvalidGrant) as ended:
            return _restart(ended)
        return page("signin_enroll.html", app=app)
    return _second_factor("signin_enroll.html")


def _second_factor(template: str, **context: bool) -> Page | Refused | Response:
    code = (request.form.get("credential") or request.form.get("code", "")).strip()
    since = time.time()  # an end_all() while the code is checked ends the new session too
    try:
        signed_in = sign_in().verify(session["signin"], code, client_ip())
    except ExpiredToken as ended:
        return _restart(ended)
    except ProtektError as wrong:
        return _refused(wrong, template, **context)
    return _welcome(signed_in, since)


def _refused(error: ProtektError, template: str, **context: object) -> Refused:
    """The form again with the reason (and Retry-After past a limit); a server-side failure
    goes to the error page."""
    if error.status_code >= 500:
        raise error
    html, status = page(template, error.status_code, error=error.get_error_description(),
                        **context)
    return html, status, [(k, v) for k, v in error.get_headers() if k == "Retry-After"]


def _welcome(signed_in: SignedIn, since: float) -> Page | Response:
    if signed_in.needs_passkey:  # admins_phishing_resistant: one more step before the console
        session.pop("signin", None)
        session["passkey_for"], session["passkey_since"] = signed_in.user.id, since
        return page("signin_passkey.html", codes=signed_in.recovery_codes or [])
    start_session(signed_in.user, since)
    if signed_in.recovery_codes:
        return page("recovery_codes.html", codes=signed_in.recovery_codes)
    return redirect(url_for("dashboard.home"))


@bp.post("/signin/passkey/new")
def signin_new_passkey() -> Page | Refused | Response:
    """The creation options of the administrator's new passkey or security key."""
    user = _passkey_for()
    if user is None:
        return redirect(url_for("dashboard.signin"))
    try:
        options = sign_in().new_passkey(user, request.form.get("kind", ""))
    except ProtektError as refused:
        return _refused(refused, "signin_passkey.html", codes=[])
    return page("signin_passkey_create.html", options=options)


@bp.post("/signin/passkey")
def signin_passkey() -> Page | Refused | Response:
    """The browser's registration of the new passkey: kept, and the console opens."""
    user = _passkey_for()
    if user is None:
        return redirect(url_for("dashboard.signin"))
    try:
        sign_in().add_passkey(user, request.form.get("credential", ""), client_ip())
    except (InvalidGrant, InvalidRequest) as refused:
        return _refused(refused, "signin_passkey.html", codes=[])
    start_session(user, float(session.get("passkey_since", 0)))
    return redirect(url_for("dashboard.home"))


def _passkey_for() -> User | None:
    """The administrator who passed the second step and must add a passkey, if any."""
    return services.users.get(session.get("passkey_for", ""))


def _restart(ended: ProtektError) -> Page:
    session.pop("signin", None)
    return page("signin.html", 400, error=f"{ended.get_error_description()} Sign in again.")


@bp.post("/signout")
def signout() -> Response:
    sign_in().sign_out(admin().id, client_ip())
    end_session()
    return redirect(url_for("dashboard.signin"))
