"""Monitoring: MFA success per factor per day (chart and table), SMS sent and credits used, and
the latest audit events. The numbers come from the audit trail (:mod:`authserver.monitoring`),
the same source as ``/metrics``."""

from __future__ import annotations

from typing import NoReturn

from flask import Response, redirect, url_for

from authserver.dashboard.chart import success_chart
from authserver.dashboard.web import bp, latest_events, page
from authserver.errors import NotFound
from authserver.extensions import services
from authserver.monitoring import FACTORS, MfaMonitoring

Page = tuple[str, int]
DAYS = 14
LATEST_EVENTS = 25


@bp.get("/")
def home() -> Response:
    return redirect(url_for("dashboard.monitoring"))


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def no_such_page(unknown: str) -> NoReturn:
    """A page for any other address under /dashboard (behind the same guard as the rest)."""
    raise NotFound("There is no such page in the dashboard.")


@bp.get("/monitoring")
def monitoring() -> Page:
    numbers = MfaMonitoring(services.session)
    daily = numbers.daily(DAYS)
    sms = numbers.sms_daily(DAYS)
    prompts = numbers.prompts(DAYS)
    return page("monitoring.html", chart=success_chart(daily), daily=daily, factors=FACTORS,
                prompts=prompts, app_names=services.clients.names(a.client_id for a in prompts),
                sms=sms, sms_sent=sum(day.sent for day in sms),
                credits_used=sum(day.credits_used for day in sms), days=DAYS,
                balance=services.mfa.sms_credits.balance(), **latest_events(LATEST_EVENTS))
