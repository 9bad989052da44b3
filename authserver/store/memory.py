"""In-process implementation of the store (``memory://``): one process only.

Atomicity comes from one lock around every operation. It holds nothing across processes, which is
why ``protekt serve`` refuses ``memory://`` with more than one worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from authserver.store.base import BucketLevel, Count, Store

_SWEEP_EVERY = 1000  # writes between sweeps of expired entries


@dataclass(frozen=True)
class _Bucket:
    level: float
    at: float


class MemoryStore(Store):
    """Dictionary of (value, monotonic expiry) under a lock."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self._data: dict[str, tuple[bytes | int | _Bucket, float | None]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _live(self, key: str, now: float) -> tuple[bytes | int | _Bucket, float | None] | None:
        entry = self._data.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= now:
            del self._data[key]
            return None
        return entry

    def _wrote(self, now: float) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            expired = [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]
            for key in expired:
                del self._data[key]

    def put(self, key: str, value: bytes, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._data[key] = (bytes(value), now + ttl)
            self._wrote(now)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._live(key, time.monotonic())
        return entry[0] if entry is not None and isinstance(entry[0], bytes) else None

    def get_many(self, *keys: str) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def put_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._data[key] = (bytes(value), now + ttl)
            self._wrote(now)
        return True

    def release(self, key: str, value: bytes) -> bool:
        with self._lock:
            entry = self._live(key, time.monotonic())
            if entry is None or entry[0] != value:
                return False
            del self._data[key]
        return True

    def consume(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._live(key, time.monotonic())
            if entry is None or not isinstance(entry[0], bytes):
                return None
            del self._data[key]
        return entry[0]

    def lease(self, lease_key: str, holder: bytes, ttl: float,
              key: str) -> tuple[bool, bytes | None]:
        now = time.monotonic()
        with self._lock:
            if self._live(lease_key, now) is not None:
                return False, None
            self._data[lease_key] = (bytes(holder), now + ttl)
            self._wrote(now)
            entry = self._live(key, now)
        return True, entry[0] if entry is not None and isinstance(entry[0], bytes) else None

    def consume_leased(self, key: str, lease_key: str, holder: bytes) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            value = entry[0] if entry is not None and isinstance(entry[0], bytes) else None
            if value is not None:
                del self._data[key]
            lease = self._live(lease_key, now)
            if lease is not None and lease[0] == holder:
                del self._data[lease_key]
        return value

    def increment(self, counters: Sequence[tuple[str, float | None]], by: int = 1) -> list[Count]:
        now = time.monotonic()
        with self._lock:
            counts = [self._increment_one(key, ttl, by, now) for key, ttl in counters]
            self._wrote(now)
        return counts

    def _increment_one(self, key: str, ttl: float | None, by: int, now: float) -> Count:
        entry = self._live(key, now)
        if entry is None and by < 0:
            return Count(0, None)
        value, expires = (0, None) if entry is None else entry
        if not isinstance(value, int):
            raise TypeError(f"{key} does not hold a counter")
        if expires is None and ttl is not None:
            expires = now + ttl
        value = max(0, value + by)
        self._data[key] = (value, expires)
        return Count(value, None if expires is None else expires - now)

    def pour(self, key: str, amount: int, capacity: int, drain_every: float) -> BucketLevel:
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            bucket = entry[0] if entry is not None else _Bucket(0.0, now)
            if not isinstance(bucket, _Bucket):
                raise TypeError(f"{key} does not hold a bucket")
            level = max(0.0, bucket.level - (now - bucket.at) / drain_every)
            after = max(0.0, level + amount)
            if amount > 0 and after > capacity:
                return BucketLevel(False, (after - capacity) * drain_every)
            self._data[key] = (_Bucket(after, now), now + after * drain_every)
            self._wrote(now)
        return BucketLevel(True, 0.0)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def ping(self) -> None:
        return None
