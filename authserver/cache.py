"""Rows that almost never change, kept in each process and dropped everywhere when one changes.

The MFA settings and the registered clients are read by nearly every request and written by an
administrator now and then. Each process keeps what it read; a change, once committed, bumps a
*generation* counter in the shared store. The first time a request uses a cached row, it reads
that counter (one GET, which also makes the request fail closed with ``503`` when the store is
down, README "Security"); when another process or instance has changed anything since, this
process drops all its copies and reads them again. A change therefore applies from the next
request everywhere, as when every request read the database. A request that uses no cached row
(a page that only shows a form) does not touch the store.

A value read while the generation changed under it is not kept (it may predate the change);
misses (an unknown client id) are never kept, so guessing ids cannot fill the memory, and at
most ``MAX_ENTRIES`` values are kept. No value is kept longer than ``MAX_AGE`` seconds: should
the store be unreachable just after a change is committed (the bump is lost), or a process die
between the two, the other processes still see the change within that time. A client deleted
or narrowed is thus never trusted from a stale copy for longer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from authserver.store import Namespace

T = TypeVar("T")
GENERATION = "generation"
MAX_ENTRIES = 1000
MAX_AGE = 30.0  # seconds


class SharedCache:
    """Values loaded from the database, valid while the store's generation is unchanged."""

    def __init__(self, records: Namespace, clock: Callable[[], float] = time.monotonic) -> None:
        self._records = records
        self._clock = clock
        self._seen: bytes | None = None
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._request = threading.local()  # whether this thread's request has looked yet

    def begin(self) -> None:
        """A new request starts on this thread: its first :meth:`get` looks at the store."""
        self._request.looked = False

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``load()`` (kept unless None)."""
        if not getattr(self._request, "looked", False):
            self._refresh()
            self._request.looked = True
        values, now = self._values, self._clock()
        kept = values.get(key)
        if kept is not None and now - kept[0] < MAX_AGE:
            return kept[1]  # type: ignore[return-value]
        generation = self._seen
        value = load()
        if value is not None and generation == self._seen and len(values) < MAX_ENTRIES:
            values[key] = (now, value)
        return value

    def _refresh(self) -> None:
        """Drop every value if any process changed a cached row since the last look."""
        generation = self._records.get(GENERATION)
        if generation != self._seen:
            self._values = {}
            self._seen = generation

    def changed(self) -> None:
        """Call after committing a change to a cached row: every process reads afresh."""
        self._values = {}
        self._records.increment([(GENERATION, None)])
