"""The signed-in pages: home, and the security settings where the user manages their factors
with the SDK's MFA calls and the user's access token.

Once the user has an active authenticator, Protekt lets only a session signed in with a second
factor add or remove factors or regenerate recovery codes (403 ``mfa_required``); the app's
error handler then signs the user in again asking for one (the step-up, :mod:`signin`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from signin import MULTI_FACTOR
from user_session import (
    RECOVERY_CODE,
    WRONG_CODE,
    Page,
    access_token,
    notify,
    protekt,
    signed_in,
    state,
)

from protekt import ProtektError

bp = Blueprint("account", __name__)

AMR_WORDS = {"pwd": "password", "otp": "authenticator app", "sms": "text message",
             "mfa": "multi-factor"}
ACR_WORDS = {MULTI_FACTOR: "multi-factor", "urn:protekt:acr:password": "password only"}
DOWNLOAD_NAME = "protekt-recovery-codes.txt"


@bp.before_request
def require_sign_in() -> Response | None:
    """Every page here but the start page needs a signed-in user."""
    if signed_in() or request.endpoint == "account.home":
        return None
    return redirect(url_for("signin.sign_in"))


@bp.get("/")
def home() -> Page:
    """Who is signed in, and how (the ID token's ``amr`` and ``acr``); signed out, the start
    page (where Protekt's logout sends the browser back)."""
    if not signed_in():
        return render_template("welcome.html")
    user = state()["user"]
    methods = [AMR_WORDS.get(value, value) for value in user["amr"] if value != "mfa"]
    return render_template("home.html", user=user, methods=methods,
                           level=ACR_WORDS.get(user["acr"], user["acr"]))


@bp.get("/security")
def settings() -> Page:
    """The user's authenticators (phone numbers come masked) and recovery codes left."""
    listed = protekt().mfa.list_authenticators(access_token())
    factors = [item for item in listed if item["authenticator_type"] != RECOVERY_CODE]
    recovery = next((item for item in listed if item["authenticator_type"] == RECOVERY_CODE),
                    None)
    return render_template("security.html", authenticators=factors, recovery=recovery,
                           unsaved_codes="recovery_codes" in state())


@bp.post("/security/app")
def add_app() -> Page:
    """Start an authenticator app enrollment: a pending factor until its first code."""
    enrollment = protekt().mfa.enroll({"type": "otp"}, access_token())
    state()["enrollment"] = {name: enrollment.get(name)
                             for name in ("id", "secret", "qr_code", "recovery_codes")}
    return redirect(url_for(".app_form"))


@bp.get("/security/app")
def app_form() -> Page:
    """The QR code, the secret for manual entry, and the first-code form."""
    enrollment = state().get("enrollment")
    if enrollment is None:
        return redirect(url_for(".settings"))
    return render_template("enroll_app.html", enrollment=enrollment)


@bp.post("/security/app/confirm")
def confirm_app() -> Page:
    """Confirm the pending app with its first code; a wrong code may be retried."""
    enrollment = state().get("enrollment")
    if enrollment is None:
        return redirect(url_for(".settings"))
    code = "".join(request.form.get("code", "").split())
    try:
        protekt().mfa.confirm_enrollment(enrollment["id"], {"otp": code}, access_token())
    except ProtektError as error:
        if error.error not in ("invalid_grant", "invalid_request"):
            raise
        return render_template("enroll_app.html", enrollment=enrollment, error=WRONG_CODE), 400
    del state()["enrollment"]
    notify("Authenticator app added.")
    return show_new_codes(enrollment["recovery_codes"])


@bp.get("/security/phone")
def phone_form() -> Page:
    """The phone number form."""
    return render_template("enroll_phone.html", phone_number="")


@bp.post("/security/phone")
def add_phone() -> Page:
    """Enroll a phone for SMS codes (active at once); a bad number is explained on the form."""
    number = request.form.get("phone_number", "").strip()
    try:
        enrollment = protekt().mfa.enroll({"type": "sms", "phone_number": number},
                                          access_token())
    except ProtektError as error:
        if error.error != "invalid_request":
            raise
        return render_template("enroll_phone.html", phone_number=number,
                               error=error.error_description), 400
    notify("Phone added: you can now sign in with a code sent by text message.")
    return show_new_codes(enrollment.get("recovery_codes"))


@bp.post("/security/authenticators/<authenticator_id>/remove")
def remove(authenticator_id: str) -> Page:
    """Remove a factor."""
    protekt().mfa.delete_authenticator(authenticator_id, access_token())
    notify("Authenticator removed.")
    return redirect(url_for(".settings"))


@bp.post("/security/recovery-codes")
def regenerate_codes() -> Page:
    """A new set of recovery codes; the old set stops working."""
    codes = protekt().mfa.regenerate_recovery_codes(access_token())["recovery_codes"]
    notify("New recovery codes generated. The old ones no longer work.")
    return show_new_codes(codes)


@bp.get("/security/recovery-codes")
def recovery_codes() -> Page:
    """The codes just issued, until the user says they are saved."""
    codes = state().get("recovery_codes")
    if codes is None:
        return redirect(url_for(".settings"))
    return render_template("recovery_codes.html", codes=codes)


@bp.get("/security/recovery-codes.txt")
def download_codes() -> Page:
    """The codes just issued, as a text file to keep."""
    codes = state().get("recovery_codes")
    if codes is None:
        return redirect(url_for(".settings"))
    text = (f"Protekt recovery codes for {state()['user']['email']}\n"
            "Each code signs you in once. Keep this file somewhere safe.\n\n"
            + "".join(f"{code}\n" for code in codes))
    return Response(text, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="{DOWNLOAD_NAME}"'})


@bp.post("/security/recovery-codes/saved")
def codes_saved() -> Page:
    """Forget the codes: they are not shown again."""
    state().pop("recovery_codes", None)
    return redirect(url_for(".settings"))


def show_new_codes(codes: list[Any] | None) -> Response:
    """Show freshly issued recovery codes, if any came; else back to the settings."""
    if not codes:
        return redirect(url_for(".settings"))
    state()["recovery_codes"] = codes
    return redirect(url_for(".recovery_codes"))
