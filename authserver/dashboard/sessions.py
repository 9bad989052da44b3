"""Administrators' dashboard sessions, kept in the store (Redis in production).

The browser holds only a random 256-bit session id inside the signed session cookie; the store
keeps its SHA-256 (DESIGN.md habit 4) with the administrator's id. A session ends after
``idle`` seconds without a request or ``absolute`` seconds after sign-in, whichever comes first
(NIST SP 800-63B §7.1: reauthentication at least every 12 hours and after 30 minutes of
inactivity at AAL2), or at once on sign-out. Being in the store, a session works on every server
process and ends everywhere at once. No Flask here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from authserver.store import Namespace

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class AdminSession:
    """Who is signed in, and since when (epoch seconds)."""

    user_id: str
    started_at: float


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class AdminSessions:
    """Starts, finds (sliding the idle timeout) and ends dashboard sessions."""

    def __init__(self, records: Namespace, idle: int = IDLE_SECONDS,
                 absolute: int = ABSOLUTE_SECONDS) -> None:
        self._records = records
        self._idle = idle
        self._absolute = absolute

    def start(self, user_id: str) -> str:
        """A new session id for the administrator: given to the browser, never stored."""
        session_id = secrets.token_urlsafe(32)
        self._save(session_id, AdminSession(user_id, time.time()))
        return session_id

    def find(self, session_id: str) -> AdminSession | None:
        """The live session of this id, its idle timeout restarted; None when it has ended."""
        raw = self._records.get(_key(session_id)) if 0 < len(session_id) <= 100 else None
        if raw is None:
            return None
        session = AdminSession(**json.loads(raw))
        if time.time() - session.started_at >= self._absolute:
            self.end(session_id)
            return None
        self._save(session_id, session)
        return session

    def end(self, session_id: str) -> None:
        self._records.delete(_key(session_id))

    def _save(self, session_id: str, session: AdminSession) -> None:
        left = session.started_at + self._absolute - time.time()
        record = json.dumps({"user_id": session.user_id, "started_at": session.started_at})
        self._records.put(_key(session_id), record.encode(), max(1.0, min(self._idle, left)))
