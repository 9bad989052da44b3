"""Sign-in pages: email and password, then the administrator's app code (or first, adding the
app), then the recovery codes once; and sign-out."""

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
from authserver.errors import ExpiredToken, InvalidGrant, ProtektError
from authserver.flows.dashboard_signin import SignedIn

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
    if request.method == "GET":
        return page("signin_code.html")
    return _second_factor("signin_code.html")


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


def _second_factor(template: str) -> Page | Refused | Response:
    code = request.form.get("code", "").strip()
    since = time.time()  # an end_all() while the code is checked ends the new session too
    try:
        signed_in = sign_in().verify(session["signin"], code, client_ip())
    except ExpiredToken as ended:
        return _restart(ended)
    except ProtektError as wrong:
        return _refused(wrong, template)
    return _welcome(signed_in, since)


def _refused(error: ProtektError, template: str, **context: str) -> Refused:
    """The form again with the reason (and Retry-After past a limit); a server-side failure
    goes to the error page."""
    if error.status_code >= 500:
        raise error
    html, status = page(template, error.status_code, error=error.get_error_description(),
                        **context)
    return html, status, [(k, v) for k, v in error.get_headers() if k == "Retry-After"]


def _welcome(signed_in: SignedIn, since: float) -> Page | Response:
    start_session(signed_in.user, since)
    if signed_in.recovery_codes:
        return page("recovery_codes.html", codes=signed_in.recovery_codes)
    return redirect(url_for("dashboard.home"))


def _restart(ended: ProtektError) -> Page:
    session.pop("signin", None)
    return page("signin.html", 400, error=f"{ended.get_error_description()} Sign in again.")


@bp.post("/signout")
def signout() -> Response:
    sign_in().sign_out(admin().id, client_ip())
    end_session()
    return redirect(url_for("dashboard.signin"))
