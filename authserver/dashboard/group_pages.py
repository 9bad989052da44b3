"""Groups and their MFA rules (README, MFA policies): list, make, change, members, delete; and
the "why would this login be asked?" tester, which runs the login decision over a user, an
application and the risk signals an administrator picks. All through the same flows as the
management API."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for

from authserver.dashboard.web import bp, page
from authserver.errors import InvalidRequest, NotFound
from authserver.extensions import services
from authserver.mfa.decision import MULTI_FACTOR, PHISHING_RESISTANT
from authserver.mfa.groups import NAMEABLE_FACTORS
from authserver.mfa.risk import SIGNALS, scored

Page = tuple[str, int]
ACR_CHOICES = {"": "none", MULTI_FACTOR: "multi-factor", PHISHING_RESISTANT:
               "phishing-resistant"}


@bp.get("/groups")
def groups() -> Page:
    return _groups_page()


@bp.post("/groups")
def create_group() -> Page | Response:
    try:
        services.flows.group_administration.create(
            request.form.get("name", ""), mfa_always="mfa_always" in request.form,
            mfa_factors=request.form.getlist("mfa_factors"))
    except InvalidRequest as wrong:
        return _groups_page(400, error=wrong.description)
    flash("Group made; its rule applies from its members' next login.", "success")
    return redirect(url_for("dashboard.groups"))


@bp.get("/groups/<group_id>")
def group(group_id: str) -> Page:
    return _group_page(group_id)


@bp.post("/groups/<group_id>/rule")
def set_group_rule(group_id: str) -> Response:
    services.flows.group_administration.update(
        group_id, mfa_always="mfa_always" in request.form,
        mfa_factors=request.form.getlist("mfa_factors"))
    flash("Rule saved; it applies from the members' next login.", "success")
    return redirect(url_for("dashboard.group", group_id=group_id))


@bp.post("/groups/<group_id>/members")
def add_member(group_id: str) -> Page | Response:
    user = services.users.find_by_email(request.form.get("email", ""))
    if user is None:
        return _group_page(group_id, 400, error="No user with this email.")
    services.flows.group_administration.add_member(group_id, user.id)
    return redirect(url_for("dashboard.group", group_id=group_id))


@bp.post("/groups/<group_id>/members/<user_id>/remove")
def remove_member(group_id: str, user_id: str) -> Response:
    services.flows.group_administration.remove_member(group_id, user_id)
    return redirect(url_for("dashboard.group", group_id=group_id))


@bp.post("/groups/<group_id>/delete")
def delete_group(group_id: str) -> Response:
    services.flows.group_administration.delete(group_id)
    flash("Group deleted; its members stay.", "success")
    return redirect(url_for("dashboard.groups"))


@bp.get("/groups/tester")
def tester() -> Page:
    """The decision for a made-up login: a user, an application, the signals that fire, the
    acr_values asked and whether the browser is remembered."""
    answer = None
    if "email" in request.args:
        try:
            answer = _explain(request.args)
        except (InvalidRequest, NotFound) as wrong:
            return _groups_page(400, error=wrong.description, asked=request.args)
    return _groups_page(answer=answer, asked=request.args)


def _explain(asked: Any) -> dict[str, Any]:
    user = services.users.find_by_email(asked.get("email", ""))
    if user is None:
        raise InvalidRequest("No user with this email.")
    client = services.clients.get(asked.get("client_id", ""))
    settings = services.mfa.settings.load()
    risk = scored(tuple(s for s in SIGNALS if asked.get(s)), settings)
    decision = services.mfa.policy.decision(
        user.id, settings, client, acr_demand=asked.get("acr") or None,
        remembered="remembered" in asked, risk=risk.level)
    return {"decision": decision, "risk": risk, "client": client, "user": user}


def _groups_page(status: int = 200, **context: Any) -> Page:
    listed = services.mfa.groups.all()
    return page("groups.html", status, groups=listed, factors=NAMEABLE_FACTORS,
                clients=services.clients.listing(), signals=SIGNALS, acrs=ACR_CHOICES,
                members={g.id: len(services.mfa.groups.members(g.id)) for g in listed},
                **{"answer": None, "asked": {}, **context})


def _group_page(group_id: str, status: int = 200, **context: Any) -> Page:
    return page("group.html", status, group=services.mfa.groups.get(group_id),
                members=services.mfa.groups.members(group_id), factors=NAMEABLE_FACTORS,
                **context)
