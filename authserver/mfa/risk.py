"""The risk of a login, for applications whose MFA rule is ``adaptive`` (README, MFA policies),
from signals the server has without calling out:

* a **new device**: a ``device_id`` (the SDKs keep one per browser or installation) this user
  never completed a login from;
* a **new network**: an IP prefix (/24 for IPv4, /48 for IPv6) not seen for this user within
  ``adaptive_memory_days``;
* **recent failures**: at least ``adaptive_failures`` failed passwords for this user or from
  this address in the last 15 minutes (the audit trail's ``login.failure``);
* a **common password**: one of the 30,000 commonest (zxcvbn's list; NIST SP 800-63B §3.1.1.2
  asks that such passwords be refused at enrollment, here they raise a login's risk).

Each signal adds its weight (settings); the score is low, medium (``adaptive_medium``) or high
(``adaptive_high``). A device or network becomes known when a login from it completes (with its
second factor, when one was asked). What is stored is an HMAC-SHA-256 of the device id or the
prefix under a key derived from ``PROTEKT_ENCRYPTION_KEY``, never the value; rows unused for
``adaptive_memory_days`` are forgotten, and all go with the user. No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from authserver.mfa.decision import HIGH, LOW, MEDIUM
from authserver.mfa.settings import MfaSettings
from authserver.models import AuditEvent, KnownContext
from authserver.models.base import utcnow

DEVICE, NETWORK = "device", "network"
FAILURE_WINDOW = timedelta(minutes=15)
TOUCH_EVERY = timedelta(days=1)  # a known context's last_seen is refreshed at most this often
MAX_DEVICE_ID = 200


@dataclass(frozen=True)
class LoginContext:
    """Where a login comes from: its address, the device id the app sent (if any), and the
    password typed (if this step had one; it is only looked up, never kept)."""

    ip: str
    device_id: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Risk:
    """The signals that fired, their score, and its level."""

    signals: tuple[str, ...]
    score: int
    level: str


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def common_password(password: str) -> bool:
    """One of the 30,000 commonest passwords, whatever its case."""
    return password.lower() in _common_passwords()


def network_of(ip: str) -> str:
    """The address's network: its /24 (IPv4) or /48 (IPv6); the address itself if unparsable."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def scored(signals: tuple[str, ...], settings: MfaSettings) -> Risk:
    """The risk of a login whose signals fired, by the settings' weights and thresholds (pure:
    the dashboard's tester asks it about made-up logins)."""
    weights = {"new_device": settings.adaptive_weight_new_device,
               "new_network": settings.adaptive_weight_new_network,
               "recent_failures": settings.adaptive_weight_failures,
               "common_password": settings.adaptive_weight_common_password}
    fired = tuple(name for name in signals if weights.get(name))
    score = sum(weights[name] for name in fired)
    level = (HIGH if score >= settings.adaptive_high
             else MEDIUM if score >= settings.adaptive_medium else LOW)
    return Risk(fired, score, level)


SIGNALS = ("new_device", "new_network", "recent_failures", "common_password")


class LoginRisk:
    """Scores logins and remembers the devices and networks of completed ones."""

    def __init__(self, session: Session, key: bytes) -> None:
        self._session = session
        self._key = key

    def assess(self, user_id: str, context: LoginContext, settings: MfaSettings) -> Risk:
        """The login's risk by the settings' weights and thresholds."""
        known = self._known(user_id, context, settings)
        fired = {
            "new_device": context.device_id is None or DEVICE not in known,
            "new_network": NETWORK not in known,
            "recent_failures": self._failures(user_id, context.ip) >= settings.adaptive_failures,
            "common_password": (context.password is not None
                                and common_password(context.password)),
        }
        return scored(tuple(name for name, on in fired.items() if on), settings)

    def remember(self, user_id: str, context: LoginContext, settings: MfaSettings) -> None:
        """The device and network of a completed login are known from now on (the caller
        commits). A context seen within the last day is left as it is (one read, no write: the
        common case of a known device); otherwise entries unused past ``adaptive_memory_days``
        are forgotten and this one is added or touched."""
        now = utcnow()
        values = self._values(context)
        seen = {row.kind: row for row in self._session.scalars(select(KnownContext).where(
            KnownContext.user_id == user_id, KnownContext.value.in_(list(values.values()))))
            if values.get(row.kind) == row.value}
        if all(kind in seen and seen[kind].last_seen > now - TOUCH_EVERY for kind in values):
            return
        self._session.execute(delete(KnownContext).where(
            KnownContext.user_id == user_id, KnownContext.value.notin_(list(values.values())),
            KnownContext.last_seen < now - timedelta(days=settings.adaptive_memory_days)))
        for kind, value in values.items():
            if kind in seen:
                seen[kind].last_seen = now
            else:
                self._session.add(KnownContext(user_id=user_id, kind=kind, value=value,
                                               first_seen=now, last_seen=now))

    def _known(self, user_id: str, context: LoginContext, settings: MfaSettings) -> set[str]:
        """The kinds (device, network) of this context the user is known from, in one query."""
        values = self._values(context)
        since = utcnow() - timedelta(days=settings.adaptive_memory_days)
        rows = self._session.execute(select(KnownContext.kind, KnownContext.value).where(
            KnownContext.user_id == user_id, KnownContext.last_seen >= since,
            KnownContext.value.in_(list(values.values()))))
        return {kind for kind, value in rows if values.get(kind) == value}

    def _failures(self, user_id: str, ip: str) -> int:
        return int(self._session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.type == "login.failure",
                AuditEvent.created_at >= utcnow() - FAILURE_WINDOW,
                or_(AuditEvent.user_id == user_id, AuditEvent.ip == ip))) or 0)

    def _values(self, context: LoginContext) -> dict[str, str]:
        values = {NETWORK: self._mac(NETWORK, network_of(context.ip))}
        if context.device_id:
            values[DEVICE] = self._mac(DEVICE, context.device_id[:MAX_DEVICE_ID])
        return values

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
