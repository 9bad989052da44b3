"""The Security section: MFA on or off, factors, policy, the SMS template with its preview,
SMS credits, the TOTP issuer name, passkeys (user verification, whether a passkey sign-in counts
as MFA), the mfa_token lifetime and the attempt limits.

Every change goes through :meth:`MfaSettingsStore.update` (the management API's and the CLI's
path), which checks all values together and stores nothing when one is wrong. The settings row is
read on every login, so a change applies from the next login on every server process.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, jsonify, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from authserver.api.params import whole_number
from authserver.dashboard.web import bp, page
from authserver.errors import InvalidRequest
from authserver.extensions import services
from authserver.mfa.settings import BOUNDS, FACTORS, POLICIES
from authserver.sms import template

Page = tuple[str, int]
FLAGS = ("enabled", "sms_confirm_phone", "passkey_counts_as_mfa", "admins_phishing_resistant",
         "adaptive_block_high")
TEXTS = ("policy", "totp_issuer", "sms_template", "webauthn_user_verification")
PREVIEW_CODE = "123456"


@bp.get("/security")
def security() -> Page:
    return _security_page(services.mfa.settings.load().as_dict())


@bp.post("/security")
def save_security() -> Page | Response:
    """Save, or with ``action=preview`` only render the SMS template (as JSON for the page's
    script, which previews while the administrator types)."""
    if request.form.get("action") == "preview":
        return _preview()
    try:
        services.flows.security_settings.update(**settings_from(request.form))
    except InvalidRequest as wrong:
        return _security_page(_submitted(request.form), 400, error=wrong.description)
    flash("Saved. The change applies from the next login.", "success")
    return redirect(url_for("dashboard.security"))


@bp.post("/security/credits")
def top_up_credits() -> Response:
    amount = whole_number(request.form.get("add", ""))
    try:
        balance = services.flows.security_settings.top_up(-1 if amount is None else amount)
    except InvalidRequest as wrong:
        flash(wrong.description, "error")
    else:
        flash(f"Added {amount} credits; the balance is {balance}.", "success")
    return redirect(url_for("dashboard.security") + "#credits")


def settings_from(form: MultiDict[str, str]) -> dict[str, Any]:
    """The settings a submitted form sets. Whole numbers are converted; anything else is passed
    on as typed, for the settings' own checks to refuse with the field's name and bounds."""
    changes: dict[str, Any] = {name: name in form for name in FLAGS}
    changes.update({name: form.get(name, "") for name in TEXTS})
    changes["factors"] = form.getlist("factors")
    changes["sms_allowed_countries"] = [
        code.strip().upper() for code in form.get("sms_allowed_countries", "").split(",")
        if code.strip()]
    for name in BOUNDS:
        raw = form.get(name, "").strip()
        number = whole_number(raw)
        changes[name] = raw if number is None else number
    return changes


def _submitted(form: MultiDict[str, str]) -> dict[str, Any]:
    values = settings_from(form)
    values["sms_allowed_countries"] = form.get("sms_allowed_countries", "")
    return values


def _preview() -> Response:
    values = settings_from(request.form)
    if not isinstance(values["sms_code_minutes"], int):
        values["sms_code_minutes"] = services.mfa.settings.load().sms_code_minutes
    return jsonify(preview_of(values))


def preview_of(values: dict[str, Any]) -> dict[str, Any]:
    """The SMS as the template renders it with a sample code and its length, or why the
    template would be refused (the checks of saving it)."""
    text, app_name = values["sms_template"], values["totp_issuer"]
    try:
        template.check(text, app_name, values["sms_code_minutes"])
    except InvalidRequest as wrong:
        return {"error": wrong.description}
    sms = template.render(text, code=PREVIEW_CODE, app_name=app_name,
                          minutes=values["sms_code_minutes"])
    return {"text": sms, "segments": template.segments(sms), "characters": len(sms)}


def _security_page(values: dict[str, Any], status: int = 200, **context: Any) -> Page:
    saved = services.mfa.settings.load()
    context.setdefault("preview", preview_of(saved.as_dict()))
    if isinstance(values["sms_allowed_countries"], list):
        values["sms_allowed_countries"] = ", ".join(values["sms_allowed_countries"])
    return page("security.html", status, values=values, factors=FACTORS, policies=POLICIES,
                bounds=BOUNDS, balance=services.mfa.sms_credits.balance(), **context)
