"""Browser sessions, kept in the store (Redis in production): the dashboard's administrators'
sessions, and the sign-in (SSO) sessions of the hosted pages that let a second app sign a user
in without a password.

The browser holds only a random 256-bit session id inside a signed cookie; the store keeps its
SHA-256 with the user's id and how they authenticated (RFC 8176 ``amr``). A session ends after
``idle`` seconds without a request or ``absolute`` seconds after sign-in, whichever comes first
(NIST SP 800-63B §7.1: reauthentication at least every 12 hours and after 30 minutes of
inactivity at AAL2), at once on sign-out, and with every other session of the user when
:meth:`BrowserSessions.end_all` is called (a block, an MFA reset, a factor removed, a new
password: NIST SP 800-63B §6.1.2.3). Being in the store, a session works on every server process
and ends everywhere at once. No Flask here.

Two records make a session: the session itself, which lives ``absolute`` seconds and is never
written again, and a "seen" mark that each request renews for ``idle`` seconds. A request racing
a sign-out can renew only the mark; the session it would need is gone for good.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from authserver.digest import digest
from authserver.store import Namespace

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
_MAX_ID_LENGTH = 100


@dataclass(frozen=True)
class BrowserSession:
    """Who is signed in, since when (epoch seconds: when their sign-in's last step began), how
    (``amr``, RFC 8176), and ``key``: the digest of the session id, which names the session
    in what it opened (refresh-token families) without being the id."""

    user_id: str
    started_at: float
    amr: tuple[str, ...] = ()
    key: str = ""


def session_key(session_id: str) -> str:
    """The digest the store keeps of a session id."""
    return digest(session_id)


class BrowserSessions:
    """Starts, finds (renewing the idle timeout) and ends browser sessions of one kind."""

    def __init__(self, records: Namespace, idle: int = IDLE_SECONDS,
                 absolute: int = ABSOLUTE_SECONDS) -> None:
        self._records = records
        self._idle = idle
        self._absolute = absolute

    def start(self, user_id: str, since: float, amr: tuple[str, ...] = ()) -> str:
        """A new session id for the user: given to the browser, never stored.
        ``since`` is when the sign-in's last step began, so an :meth:`end_all` that ran while
        the code was being checked ends this session too."""
        session_id = secrets.token_urlsafe(32)
        key = session_key(session_id)
        record = {"user_id": user_id, "started_at": since, "amr": list(amr)}
        self._records.put(key, json.dumps(record).encode(), self._absolute)
        self._records.put(f"seen:{key}", b"1", self._idle)
        return session_id

    def find(self, session_id: str) -> BrowserSession | None:
        """The live session of this id, its idle timeout restarted; None when it has ended."""
        if not 0 < len(session_id) <= _MAX_ID_LENGTH:
            return None
        key = session_key(session_id)
        raw = self._records.get(key)
        if raw is None:
            return None
        if self._records.get(f"seen:{key}") is None:  # idle too long
            self.end(session_id)
            return None
        record = json.loads(raw)
        session = BrowserSession(record["user_id"], record["started_at"],
                                 tuple(record.get("amr", ())), key)
        if self.ended_since(session.user_id, session.started_at):
            self.end(session_id)
            return None
        self._records.put(f"seen:{key}", b"1", self._idle)
        return session

    def ended_since(self, user_id: str, since: float) -> bool:
        """Whether :meth:`end_all` ran for the user at or after ``since``: what the user
        authenticated at ``since`` is over, session or not."""
        ended = self._records.get(f"ended:{user_id}")
        return ended is not None and since <= float(ended)

    def end_all(self, user_id: str) -> None:
        """End every session the user began until now, on every server process."""
        self._records.put(f"ended:{user_id}", repr(time.time()).encode(), self._absolute)

    def end(self, session_id: str) -> None:
        key = session_key(session_id)
        self._records.delete(key, f"seen:{key}")
