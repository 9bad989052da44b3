"""Administrators' dashboard sessions, kept in the store (Redis in production).

The browser holds only a random 256-bit session id inside the signed session cookie; the store
keeps its SHA-256 (DESIGN.md habit 4) with the administrator's id and a stamp of the credentials
they signed in with. A session ends after ``idle`` seconds without a request or ``absolute``
seconds after sign-in, whichever comes first (NIST SP 800-63B §7.1: reauthentication at least
every 12 hours and after 30 minutes of inactivity at AAL2), or at once on sign-out. Being in the
store, a session works on every server process and ends everywhere at once. No Flask here.

Two records make a session: the session itself, which lives ``absolute`` seconds and is never
written again, and a "seen" mark that each request renews for ``idle`` seconds. A request racing
a sign-out can renew only the mark; the session it would need is gone for good.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

from authserver.store import Namespace

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
_MAX_ID_LENGTH = 100


@dataclass(frozen=True)
class AdminSession:
    """Who is signed in, since when (epoch seconds), and the stamp of their credentials then."""

    user_id: str
    started_at: float
    stamp: str


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class AdminSessions:
    """Starts, finds (renewing the idle timeout) and ends dashboard sessions."""

    def __init__(self, records: Namespace, idle: int = IDLE_SECONDS,
                 absolute: int = ABSOLUTE_SECONDS) -> None:
        self._records = records
        self._idle = idle
        self._absolute = absolute

    def start(self, user_id: str, stamp: str) -> str:
        """A new session id for the administrator: given to the browser, never stored."""
        session_id = secrets.token_urlsafe(32)
        key = _key(session_id)
        record = AdminSession(user_id, time.time(), stamp)
        self._records.put(key, json.dumps(asdict(record)).encode(), self._absolute)
        self._records.put(f"seen:{key}", b"1", self._idle)
        return session_id

    def find(self, session_id: str) -> AdminSession | None:
        """The live session of this id, its idle timeout restarted; None when it has ended."""
        if not 0 < len(session_id) <= _MAX_ID_LENGTH:
            return None
        key = _key(session_id)
        raw = self._records.get(key)
        if raw is None:
            return None
        if self._records.get(f"seen:{key}") is None:  # idle too long
            self.end(session_id)
            return None
        self._records.put(f"seen:{key}", b"1", self._idle)
        return AdminSession(**json.loads(raw))

    def end(self, session_id: str) -> None:
        key = _key(session_id)
        self._records.delete(key, f"seen:{key}")
