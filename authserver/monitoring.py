"""MFA and SMS monitoring: daily and all-time counts read from the audit trail.

Nothing is counted in a process: every number is a ``GROUP BY`` over ``audit_events`` computed by
the database, so every server process (and the dashboard, and ``GET /metrics``) reports the same
figures. The events counted, and the code that records them:

* challenges -- ``mfa.challenge`` (``MfaChallenges.challenge``; otp, sms and webauthn: a
  recovery code needs no challenge);
* successes -- ``mfa.verify.success`` (otp, sms, webauthn) and ``mfa.recovery_code.used``
  (recovery-code), both from ``MfaVerifier._record_success``; a passwordless sign-in's
  ``passkey.signin.success`` (factor ``passkey``, ``PasskeySignIn``);
* failures -- ``mfa.verify.failure`` (``MfaVerifier.guarded``: a wrong code, an SMS code past
  its time, ``reason: "expired"``, a passkey answer that did not verify, with its reason), and
  ``passkey.signin.failure``. A wrong first code while enrolling is ``mfa.confirm.failure``
  and is not a login failure, so it is not counted;
* lockouts -- ``mfa.locked`` (``MfaVerifier._reserve``): an attempt that crossed a limit of
  NIST SP 800-63B §5.2.2 for the first time in its window, whether at login or while enrolling;
* prompts -- per application, ``mfa.required`` by its ``reason`` (the rule that asked, README,
  MFA policies) beside the first steps that succeeded (``login.success``,
  ``passkey.signin.success``);
* SMS -- ``sms.sent`` and ``sms.failed`` (``SmsSender``, one per message), and the credits used:
  ``sms.credits.debited`` minus ``sms.credits.refunded`` (``SmsCredits``; a refused delivery is
  refunded, an unanswered one is not, so the net is what the provider may have billed).

The dashboard's own sign-ins (client ``protekt-dashboard``) are left out: the figures are about
the deployment's users, not its administrators.

Days are UTC days: ``created_at`` is stored as naive UTC (authserver.models.base.UTCDateTime).
Only the factors in :data:`FACTORS` are reported, so a label or a key is never anything else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Row, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from authserver.clients import DASHBOARD_CLIENT_ID
from authserver.mfa.settings import OTP, RECOVERY_CODE, SMS, WEBAUTHN
from authserver.models import AuditEvent
from authserver.models.base import utcnow

PASSKEY_SIGNIN = "passkey"  # the factor of a passwordless sign-in's events
FACTORS: tuple[str, ...] = (OTP, SMS, WEBAUTHN, RECOVERY_CODE, PASSKEY_SIGNIN)
#: The longest series :meth:`MfaMonitoring.daily` gives: a quarter, the dashboard's widest view,
#: which also bounds the rows one call reads.
MAX_DAYS = 90

# audit event type -> the FactorDay field it adds one to
_MFA_EVENTS: Mapping[str, str] = {
    "mfa.challenge": "challenges",
    "mfa.verify.success": "successes",
    "mfa.recovery_code.used": "successes",
    "mfa.verify.failure": "failures",
    "mfa.locked": "lockouts",
    "passkey.signin.success": "successes",
    "passkey.signin.failure": "failures",
}
_MFA_FIELDS = ("challenges", "successes", "failures", "lockouts")
# audit event type -> the SmsDay field it adds one to, or the sign its credit amount adds with
_SMS_COUNTED: Mapping[str, str] = {"sms.sent": "sent", "sms.failed": "failed"}
_SMS_CREDITS: Mapping[str, int] = {"sms.credits.debited": 1, "sms.credits.refunded": -1}

# The UTC day of an event: date() is a string on SQLite and a date on PostgreSQL; typing the
# result as Date makes SQLAlchemy parse SQLite's string, so both give a datetime.date.
_DAY = func.date(AuditEvent.created_at, type_=Date).label("day")
_FACTOR = AuditEvent.detail["factor"].as_string().label("factor")
_AMOUNT = func.coalesce(func.sum(AuditEvent.detail["amount"].as_integer()), 0).label("amount")
_COUNT = func.count().label("events")
_Day = date | None  # a tally's day: None when counting all time


@dataclass(frozen=True)
class FactorDay:
    """One factor on one UTC day."""

    day: date
    factor: str
    challenges: int
    successes: int
    failures: int
    lockouts: int

    @property
    def success_rate(self) -> float | None:
        """Successes over attempts (successes + failures); None on a day without attempts."""
        attempts = self.successes + self.failures
        return self.successes / attempts if attempts else None


@dataclass(frozen=True)
class SmsDay:
    """SMS on one UTC day: messages sent and failed, credits debited minus refunded."""

    day: date
    sent: int
    failed: int
    credits_used: int


@dataclass(frozen=True)
class Totals:
    """All-time counters (for Prometheus); the dicts are keyed by every factor in FACTORS."""

    challenges: dict[str, int]
    successes: dict[str, int]
    failures: dict[str, int]
    lockouts: dict[str, int]
    sms_sent: int
    sms_failed: int
    sms_credits_used: int


@dataclass(frozen=True)
class _Window:
    """The last ``len(days)`` UTC days ending with ``days[-1]``, oldest first."""

    days: tuple[date, ...]

    @classmethod
    def ending(cls, days: int, today: date | None) -> _Window:
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}, not {days!r}")
        if isinstance(today, datetime):  # a date is asked for; a datetime would match no day
            raise ValueError("today must be a date (a UTC day), not a datetime")
        last = utcnow().date() if today is None else today
        return cls(tuple(last - timedelta(days=back) for back in reversed(range(days))))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.days[0], time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.days[-1] + timedelta(days=1), time(), UTC)


@dataclass(frozen=True)
class AppPrompts:
    """One application over a window: its users' first steps (password or passkey sign-ins that
    succeeded), how many were asked a second factor, and why (the rule of each ``mfa.required``,
    README, MFA policies)."""

    client_id: str
    logins: int
    prompts: int
    reasons: dict[str, int]

    @property
    def prompt_rate(self) -> float | None:
        return self.prompts / self.logins if self.logins else None


_FIRST_STEPS = ("login.success", "passkey.signin.success")
_CLIENT = AuditEvent.client_id.label("client")
_REASON = AuditEvent.detail["reason"].as_string().label("reason")


class MfaMonitoring:
    """Aggregates of the audit trail for the dashboard and ``GET /metrics``; reads only."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def daily(self, days: int, today: date | None = None) -> list[FactorDay]:
        """Every (day, factor) of the last ``days`` UTC days ending ``today`` (default: the
        current UTC day), zeros included: oldest day first, factors in FACTORS order."""
        window = _Window.ending(days, today)
        tally = self._mfa_tally(window)
        return [FactorDay(day, factor, **{name: tally[day, factor][name] for name in _MFA_FIELDS})
                for day in window.days for factor in FACTORS]

    def sms_daily(self, days: int, today: date | None = None) -> list[SmsDay]:
        """The SMS figures of the same days as :meth:`daily`, zeros included, oldest first."""
        window = _Window.ending(days, today)
        tally = self._sms_tally(window)
        return [SmsDay(day, tally[day]["sent"], tally[day]["failed"], tally[day]["credits_used"])
                for day in window.days]

    def prompts(self, days: int, today: date | None = None) -> list[AppPrompts]:
        """Per application over the last ``days`` UTC days: first steps, second factors asked
        and the reasons, most prompted first; in one grouped query."""
        window = _Window.ending(days, today)
        logins: Counter[str] = Counter()
        reasons: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for row in self._grouped(["mfa.required", *_FIRST_STEPS], [_CLIENT, _REASON], [_COUNT],
                                 window):
            if row.type == "mfa.required":
                reasons[row.client][row.reason or "unrecorded"] += row.events
            else:
                logins[row.client] += row.events
        apps = [AppPrompts(client, logins[client], sum(reasons[client].values()),
                           dict(reasons[client].most_common()))
                for client in {*logins, *reasons} if client]
        return sorted(apps, key=lambda app: (-app.prompts, app.client_id))

    def totals(self) -> Totals:
        """Every counter since the trail began."""
        mfa = self._mfa_tally(None)
        sms = self._sms_tally(None)[None]
        per_factor = {name: {factor: mfa[None, factor][name] for factor in FACTORS}
                      for name in _MFA_FIELDS}
        return Totals(**per_factor, sms_sent=sms["sent"], sms_failed=sms["failed"],
                      sms_credits_used=sms["credits_used"])

    def _mfa_tally(self, window: _Window | None) -> defaultdict[tuple[_Day, str], Counter[str]]:
        """FactorDay field counts by (day, factor)."""
        tally: defaultdict[tuple[_Day, str], Counter[str]] = defaultdict(Counter)
        for row in self._grouped(_MFA_EVENTS, [_FACTOR], [_COUNT], window):
            tally[_day_of(row, window), row.factor][_MFA_EVENTS[row.type]] += row.events
        return tally

    def _sms_tally(self, window: _Window | None) -> defaultdict[_Day, Counter[str]]:
        """SmsDay field values by day."""
        tally: defaultdict[_Day, Counter[str]] = defaultdict(Counter)
        for row in self._grouped([*_SMS_COUNTED, *_SMS_CREDITS], [], [_COUNT, _AMOUNT], window):
            counts = tally[_day_of(row, window)]
            if row.type in _SMS_COUNTED:
                counts[_SMS_COUNTED[row.type]] += row.events
            else:
                counts["credits_used"] += _SMS_CREDITS[row.type] * row.amount
        return tally

    def _grouped(self, types: Iterable[str], keys: list[ColumnElement[Any]],
                 aggregates: list[ColumnElement[Any]],
                 window: _Window | None) -> Sequence[Row[Any]]:
        """One row per event type and key (and UTC day, with a window): the database groups."""
        if window is not None:
            keys = [*keys, _DAY]
        query = (select(AuditEvent.type, *keys, *aggregates)
                 .where(AuditEvent.type.in_(list(types)),
                        AuditEvent.client_id.is_distinct_from(DASHBOARD_CLIENT_ID))
                 .group_by(AuditEvent.type, *keys))
        if window is not None:
            query = query.where(AuditEvent.created_at >= window.start,
                                AuditEvent.created_at < window.end)
        return self._session.execute(query).all()


def _day_of(row: Row[Any], window: _Window | None) -> _Day:
    return row.day if window is not None else None
