"""``GET /metrics``: the MFA and SMS counters in the Prometheus text exposition format.

Each scrape reads the all-time totals from the audit trail (authserver.monitoring) and the SMS
credit balance from the database, so every server process answers the same numbers and nothing is
counted per process (no prometheus_client multiprocess directory); a process reuses its answer
for a few seconds (``PROTEKT_METRICS_CACHE_SECONDS``). Both are read before a byte of
the exposition is written: an unreachable database raises, and the one error handler answers
``503 temporarily_unavailable`` (authserver.api.errors), never half a page of metrics.

Labels hold a factor name (authserver.monitoring.FACTORS) or a result, nothing else: never a
user, email, IP, client or phone number. The endpoint is unauthenticated, as Prometheus scrapes
are by default; serve it on an internal network or behind the proxy's access rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from authserver.extensions import services
from authserver.monitoring import FACTORS, MfaMonitoring, Totals

bp = Blueprint("metrics", __name__)


@dataclass(frozen=True)
class MfaCollector:
    """A Prometheus collector over figures already read: collecting touches no database."""

    totals: Totals
    sms_credits_balance: int

    def collect(self) -> Iterator[Metric]:
        yield self._per_factor("protekt_mfa_challenges_total",
                               "MFA challenges started (audit event mfa.challenge).",
                               self.totals.challenges)
        yield self._verifications()
        yield self._per_factor("protekt_mfa_lockouts_total",
                               "MFA attempt limits newly reached (audit event mfa.locked).",
                               self.totals.lockouts)
        yield CounterMetricFamily("protekt_sms_sent_total",
                                  "SMS messages the provider took (audit event sms.sent).",
                                  value=self.totals.sms_sent)
        yield CounterMetricFamily("protekt_sms_failed_total",
                                  "SMS messages the provider refused or did not answer for "
                                  "(audit event sms.failed).", value=self.totals.sms_failed)
        yield CounterMetricFamily("protekt_sms_credits_used_total",
                                  "SMS credits debited minus refunded (audit events "
                                  "sms.credits.debited, sms.credits.refunded).",
                                  value=self.totals.sms_credits_used)
        yield GaugeMetricFamily("protekt_sms_credits_balance", "SMS credits left to spend.",
                                value=self.sms_credits_balance)

    @staticmethod
    def _per_factor(name: str, documentation: str, counts: dict[str, int]) -> Metric:
        family = CounterMetricFamily(name, documentation, labels=["factor"])
        for factor in FACTORS:
            family.add_metric([factor], counts[factor])
        return family

    def _verifications(self) -> Metric:
        family = CounterMetricFamily(
            "protekt_mfa_verifications_total",
            "Second-factor codes checked at login, by result (audit events mfa.verify.success "
            "and mfa.recovery_code.used; mfa.verify.failure).", labels=["factor", "result"])
        for result, counts in (("success", self.totals.successes),
                               ("failure", self.totals.failures)):
            for factor in FACTORS:
                family.add_metric([factor, result], counts[factor])
        return family


class Exposition:
    """The last exposition a process made, reused for ``PROTEKT_METRICS_CACHE_SECONDS``.

    Counting the trail takes tens of milliseconds per 100,000 events, and the endpoint is
    unauthenticated: reused answers bound what a flood of scrapes costs the database to one
    count per process per period. One request counts at a time; meanwhile the others get the
    previous answer rather than a thread held waiting (only the very first count is waited for).
    """

    def __init__(self, seconds: int) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._body = b""
        self._until = 0.0

    def current(self, count: Callable[[], bytes]) -> bytes:
        if time.monotonic() < self._until:
            return self._body
        if not self._lock.acquire(blocking=not self._body):
            return self._body  # another request is counting: the previous answer will do
        try:
            if time.monotonic() >= self._until:
                self._body = count()
                self._until = time.monotonic() + self._seconds
            return self._body
        finally:
            self._lock.release()


def _count() -> bytes:
    return generate_latest(MfaCollector(MfaMonitoring(services.session).totals(),
                                        services.mfa.sms_credits.balance()))


@bp.get("/metrics")
def metrics() -> Response:
    """The exposition; ``no-store``, so no proxy keeps it longer than the process does."""
    exposition = current_app.extensions.setdefault(
        "protekt.metrics", Exposition(services.settings.metrics_cache_seconds))
    return Response(exposition.current(_count), content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
