"""Short-lived state: records with a TTL, atomic consume, atomic counters.

One small interface (:class:`Store`) with two real implementations: Redis (``redis://``,
``rediss://``) for production and an in-process one (``memory://``) for a single process. Both run
through the same contract tests. Callers never see a whole store: each concern gets a
:class:`Namespace` (``store.namespace("login")``), so its keys live under ``{prefix}:{name}:`` and
it can reach nothing else.
"""

from __future__ import annotations

from authserver.store.base import BucketLevel, Count, Namespace, Store, StoreUnavailable
from authserver.store.memory import MemoryStore
from authserver.store.redis import RedisStore


def open_store(url: str, prefix: str, timeout: float) -> Store:
    """Build the store named by ``PROTEKT_REDIS_URL``; ``timeout`` bounds each Redis wait."""
    if url.startswith("memory:"):
        return MemoryStore(prefix)
    return RedisStore(url, prefix, timeout)


__all__ = ["BucketLevel", "Count", "Namespace", "Store", "StoreUnavailable", "open_store"]
