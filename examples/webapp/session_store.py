"""Server-side sessions: the browser holds only a random id (in Flask's signed cookie); tokens,
codes and the sign-in in progress stay in this process.

A session is stored only once there is something to keep (a CSRF token for a form, a sign-in in
progress, tokens): a request that stores nothing, such as a 404 or a redirect to the sign-in
form, costs no memory. The store holds at most ``max_sessions`` sessions, forgetting the least
recently used first, and forgets sessions idle longer than ``idle_timeout`` seconds. Sessions are
kept in order of last use, so both take O(1) per request: no request scans the store.

One process only: a deployment with several workers would keep the same dictionaries in Redis or
a database instead.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]
IDLE_TIMEOUT = 8 * 3600.0  # seconds
MAX_SESSIONS = 10_000


@dataclass(eq=False)
class Session:
    """One browser's state, and the lock its concurrent requests take to refresh its tokens.

    ``id`` is None until the session is stored.
    """

    state: State = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    id: str | None = None


class SessionStore:
    """Sessions keyed by unguessable ids (128 bits), least recently used first."""

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT, max_sessions: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._idle_timeout = idle_timeout
        self._max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, tuple[float, Session]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many sessions are stored."""
        with self._lock:
            return len(self._sessions)

    def open(self, session_id: str | None) -> Session:
        """The stored session ``session_id``, or a new one, not stored, when it is unknown or
        was idle too long."""
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            if session_id is None or session_id not in self._sessions:
                return Session()
            self._sessions.move_to_end(session_id)
            session = self._sessions[session_id][1]
            self._sessions[session_id] = (now, session)
            return session

    def save(self, session: Session) -> None:
        """Store a new session under a fresh id; a stored one is left as it is."""
        if session.id is None:
            self.rotate(session)

    def rotate(self, session: Session) -> None:
        """Store the session under a fresh id; its old id, if any, stops working.

        Called on sign-in (against session fixation) and sign-out.
        """
        new_id = secrets.token_urlsafe(16)
        with self._lock:
            if session.id is not None:
                self._sessions.pop(session.id, None)
            self._sessions[new_id] = (self._clock(), session)
            while len(self._sessions) > self._max_sessions:
                self._sessions.popitem(last=False)
        session.id = new_id

    def _forget_idle(self, now: float) -> None:
        """Drop sessions idle too long: the oldest are first, so stop at the first recent one."""
        while self._sessions:
            seen, _ = next(iter(self._sessions.values()))
            if now - seen <= self._idle_timeout:
                return
            self._sessions.popitem(last=False)
