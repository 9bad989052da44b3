"""The store interface shared by the Redis and in-process implementations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from authserver.errors import TemporarilyUnavailable


class StoreUnavailable(TemporarilyUnavailable):
    """The store cannot be reached; requests that need it fail closed with 503."""


@dataclass(frozen=True)
class Count:
    """A counter's value after an increment, and the seconds until it resets (None: never)."""

    value: int
    expires_in: float | None


@dataclass(frozen=True)
class BucketLevel:
    """Whether a bucket took what was poured in, and if not, the seconds until it would."""

    accepted: bool
    retry_after: float


class Store(ABC):
    """Records with a TTL, consumed atomically, and counters incremented atomically.

    Keys are full keys here; :meth:`namespace` hands out the prefixed view callers use.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def namespace(self, name: str) -> Namespace:
        return Namespace(self, f"{self.prefix}:{name}:")

    @abstractmethod
    def put(self, key: str, value: bytes, ttl: float) -> None:
        """Store value under key for ttl seconds, replacing any previous value."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or None when missing or expired."""

    @abstractmethod
    def get_many(self, *keys: str) -> list[bytes | None]:
        """The value of each key (None when missing or expired), in one round trip (Redis
        ``MGET``)."""

    @abstractmethod
    def put_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        """Store value for ttl seconds only if key holds nothing; True if it was stored.

        Of parallel callers exactly one gets True: a short lease (Redis ``SET NX PX``).
        """

    @abstractmethod
    def release(self, key: str, value: bytes) -> bool:
        """Delete key only if it still holds value (the lease its caller took); True if deleted.

        A lease that expired and was taken by another caller is left alone.
        """

    @abstractmethod
    def consume(self, key: str) -> bytes | None:
        """Return the value and delete it in one atomic step: of parallel callers, one wins."""

    @abstractmethod
    def lease(self, lease_key: str, holder: bytes, ttl: float,
              key: str) -> tuple[bool, bytes | None]:
        """Take a lease and read a record under it, in one atomic step: put ``holder`` at
        ``lease_key`` if absent (for ttl); if that took the lease, (True, the value of ``key``),
        else (False, None)."""

    @abstractmethod
    def consume_leased(self, key: str, lease_key: str, holder: bytes) -> bytes | None:
        """:meth:`consume` ``key`` and :meth:`release` the lease ``holder`` took, in one atomic
        step; the value, or None if it was gone."""

    @abstractmethod
    def increment(self, counters: Sequence[tuple[str, float | None]], by: int = 1) -> list[Count]:
        """Add ``by`` to each (key, ttl) counter atomically, in one round trip.

        A counter created by this call expires ttl seconds later (a fixed window; None: never);
        later increments keep that expiry. A negative ``by`` never creates a counter nor takes one
        below zero.
        """

    @abstractmethod
    def pour(self, key: str, amount: int, capacity: int, drain_every: float) -> BucketLevel:
        """Pour ``amount`` into a leaky bucket that drains one unit every ``drain_every`` seconds.

        Atomic: the bucket takes a positive amount only if it then holds at most ``capacity``;
        otherwise nothing changes and ``retry_after`` says when it would. A negative amount takes
        units out (never below empty). A missing key is an empty bucket; the key expires once the
        bucket has drained. This is a token bucket of ``capacity`` refilled one per ``drain_every``
        seconds, seen from the other side.
        """

    @abstractmethod
    def delete(self, *keys: str) -> None:
        """Remove keys; missing keys are ignored."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""


class Namespace:
    """The part of a store under one key prefix: what a single concern is handed."""

    def __init__(self, store: Store, prefix: str) -> None:
        self._store = store
        self._prefix = prefix

    def put(self, key: str, value: bytes, ttl: float) -> None:
        self._store.put(self._prefix + key, value, ttl)

    def get(self, key: str) -> bytes | None:
        return self._store.get(self._prefix + key)

    def get_many(self, *keys: str) -> list[bytes | None]:
        return self._store.get_many(*(self._prefix + k for k in keys))

    def put_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return self._store.put_if_absent(self._prefix + key, value, ttl)

    def release(self, key: str, value: bytes) -> bool:
        return self._store.release(self._prefix + key, value)

    def consume(self, key: str) -> bytes | None:
        return self._store.consume(self._prefix + key)

    def lease(self, lease_key: str, holder: bytes, ttl: float,
              key: str) -> tuple[bool, bytes | None]:
        return self._store.lease(self._prefix + lease_key, holder, ttl, self._prefix + key)

    def consume_leased(self, key: str, lease_key: str, holder: bytes) -> bytes | None:
        return self._store.consume_leased(self._prefix + key, self._prefix + lease_key, holder)

    def pour(self, key: str, amount: int, capacity: int, drain_every: float) -> BucketLevel:
        return self._store.pour(self._prefix + key, amount, capacity, drain_every)

    def increment(self, counters: Sequence[tuple[str, float | None]], by: int = 1) -> list[Count]:
        return self._store.increment([(self._prefix + k, ttl) for k, ttl in counters], by)

    def delete(self, *keys: str) -> None:
        self._store.delete(*(self._prefix + k for k in keys))
