"""Server-side sessions: the browser holds only a random id (in Flask's signed cookie); tokens,
codes and the sign-in in progress stay in this process.

One process only: a deployment with several workers would keep the same dictionaries in Redis or
a database instead. Sessions idle longer than ``idle_timeout`` seconds are forgotten.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

State = dict[str, Any]


class SessionStore:
    """Per-session state dictionaries keyed by unguessable ids (128 bits)."""

    def __init__(self, idle_timeout: float = 8 * 3600.0) -> None:
        self._idle_timeout = idle_timeout
        self._sessions: dict[str, tuple[float, State]] = {}
        self._lock = threading.Lock()

    def open(self, session_id: str | None) -> tuple[str, State]:
        """The state of ``session_id``, or a fresh session when it is unknown or idle too long."""
        now = time.monotonic()
        with self._lock:
            self._forget_idle(now)
            if session_id is None or session_id not in self._sessions:
                session_id = secrets.token_urlsafe(16)
                self._sessions[session_id] = (now, {"csrf_token": secrets.token_urlsafe(32)})
            state = self._sessions[session_id][1]
            self._sessions[session_id] = (now, state)
            return session_id, state

    def rotate(self, session_id: str, state: State) -> str:
        """Keep state under a new id, with a new CSRF token; the old id stops working.

        Called on sign-in (against session fixation) and sign-out.
        """
        new_id = secrets.token_urlsafe(16)
        state["csrf_token"] = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions.pop(session_id, None)
            self._sessions[new_id] = (time.monotonic(), state)
        return new_id

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, (seen, _) in self._sessions.items()
                if now - seen > self._idle_timeout]
        for key in idle:
            del self._sessions[key]
