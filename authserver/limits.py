"""Attempt limits that hold under parallel requests (NIST SP 800-63B §5.2.2).

An attempt is counted *before* it is checked: the counter is incremented atomically in the store,
and only a request whose count is within the limit goes on to verify anything. Parallel requests
therefore cannot slip past a limit between a read and a write. A successful attempt is forgiven
afterwards (windowed counters step back; consecutive-failure counters reset; buckets give the
unit back).

Three kinds of limit: a fixed window (``attempts`` per ``window`` seconds), a consecutive count
(``attempts`` in a row, reset by a success), and a leaky bucket (a burst of ``attempts``, then one
more every ``drain_every`` seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authserver.errors import TooManyAttempts
from authserver.store import Namespace


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per key: per ``window`` seconds, in a bucket that drains one every
    ``drain_every`` seconds, or, with neither, consecutively."""

    name: str
    attempts: int
    window: int | None
    description: str
    drain_every: int | None = None

    @property
    def consecutive(self) -> bool:
        return self.window is None and self.drain_every is None


class LimitReached(TooManyAttempts):
    """A limit refused this attempt; ``newly`` names the limits this very attempt crossed."""

    def __init__(self, limit: Limit, retry_after: int, newly: tuple[str, ...]) -> None:
        super().__init__(limit.description, retry_after=retry_after)
        self.newly = newly


Hit = tuple[Limit, str]


class AttemptLimiter:
    """Counts attempts per (limit, key) in the store; one round trip per step."""

    def __init__(self, counters: Namespace) -> None:
        self._counters = counters

    def reserve(self, hits: Sequence[Hit]) -> int | None:
        """Count one attempt against every hit; raise LimitReached if any is over its limit.

        Counters are incremented together in one round trip; a bucket is poured on its own, and
        a full bucket refuses without taking anything. Returns the fewest attempts the counters
        leave after this one (None when only buckets were hit).
        """
        for hit in (h for h in hits if h[0].drain_every is not None):
            self._pour(hit)
        counted = [h for h in hits if h[0].drain_every is None]
        return self._count(counted) if counted else None

    def _pour(self, hit: Hit) -> None:
        limit = hit[0]
        assert limit.drain_every is not None
        level = self._counters.pour(self._key(hit), 1, limit.attempts, limit.drain_every)
        if not level.accepted:
            # One refusal per drain interval is reported as new, however many arrive at once.
            noted = self._counters.put_if_absent(f"noted:{self._key(hit)}", b"1", limit.drain_every)
            raise LimitReached(limit, int(level.retry_after) + 1, (limit.name,) if noted else ())

    def _count(self, hits: Sequence[Hit]) -> int:
        counts = self._counters.increment([(self._key(h), h[0].window) for h in hits])
        over = [(limit, count) for (limit, _), count in zip(hits, counts, strict=True)
                if count.value > limit.attempts]
        if not over:
            return min(h[0].attempts - c.value for h, c in zip(hits, counts, strict=True))
        limit, count = max(over, key=lambda pair: pair[1].expires_in or pair[0].attempts)
        retry_after = int(count.expires_in) if count.expires_in else (limit.window or 3600)
        newly = tuple(lim.name for lim, c in over if c.value == lim.attempts + 1)
        raise LimitReached(limit, retry_after, newly)

    def forgive(self, hits: Sequence[Hit]) -> None:
        """Undo a successful attempt: windowed counts step back, consecutive counts reset,
        buckets give the unit back."""
        for limit, key in hits:
            if limit.drain_every is not None:
                self._counters.pour(self._key((limit, key)), -1, limit.attempts, limit.drain_every)
        windowed = [(self._key(h), h[0].window) for h in hits if h[0].window is not None]
        if windowed:
            self._counters.increment(windowed, by=-1)
        consecutive = [self._key(h) for h in hits if h[0].consecutive]
        if consecutive:
            self._counters.delete(*consecutive)

    def clear(self, hits: Sequence[Hit]) -> None:
        """Drop the counters outright (an operator unlocking an account)."""
        keys = [self._key(h) for h in hits]
        self._counters.delete(*keys, *(f"noted:{key}" for key in keys))

    @staticmethod
    def _key(hit: Hit) -> str:
        limit, key = hit
        return f"{limit.name}:{key}"
