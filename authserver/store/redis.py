"""Redis implementation of the store (redis-py; atomic steps are GETDEL or one Lua script)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from authserver.store.base import BucketLevel, Count, Store, StoreUnavailable

T = TypeVar("T")

# KEYS: counters. ARGV[1]: increment; ARGV[i + 1]: TTL in ms for KEYS[i], 0 for none.
# The TTL is set only when the counter has none yet, so a window runs from its first hit.
_INCREMENT = """
local by = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
  local value = 0
  if by >= 0 or redis.call('EXISTS', key) == 1 then
    value = redis.call('INCRBY', key, by)
    if value < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
      value = 0
    end
    local ttl = tonumber(ARGV[i + 1])
    if ttl > 0 and redis.call('PTTL', key) == -1 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
  result[#result + 1] = value
  result[#result + 1] = redis.call('PTTL', key)
end
return result
"""


# KEYS[1]: bucket hash {level, at}. ARGV: amount, capacity, drain interval in ms.
# Time is the Redis server's, so every worker sees one clock. Returns {accepted, retry ms}.
_POUR = """
local amount = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local drain = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - at) / drain)
local after = math.max(0, level + amount)
if amount > 0 and after > capacity then
  return {0, math.ceil((after - capacity) * drain)}
end
if after == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'level', tostring(after), 'at', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(after * drain))
end
return {1, 0}
"""


# KEYS[1]: a lease, KEYS[2]: the record it guards; ARGV: the holder's value, the TTL in ms.
# Take the lease if free and read the record under it: {1, value or false}, or {0, false}.
_LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return {1, redis.call('GET', KEYS[2])}
end
return {0, false}
"""


# KEYS[1]: a record, KEYS[2]: its lease; ARGV[1]: the holder's value. GETDEL the record and
# delete the lease if it is still the holder's.
_CONSUME_LEASED = """
local value = redis.call('GETDEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return value
"""


# KEYS[1]: a lease; ARGV[1]: the value its holder wrote. Delete only the holder's own lease.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _unavailable_on_redis_error(method: Callable[..., T]) -> Callable[..., T]:
    """Turn any Redis failure into StoreUnavailable: callers fail closed (503)."""

    @wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(detail=f"redis: {type(exc).__name__}: {exc}") from exc

    return wrapper


class RedisStore(Store):
    """Store on a Redis server; connections pooled, short timeouts so an outage answers fast:
    a Redis that stops answering (hung, paused, a network partition) costs a request
    ``timeout`` seconds per attempt, two attempts, before its 503."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        super().__init__(prefix)
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1),
        )
        self._increment = self._redis.register_script(_INCREMENT)
        self._pour = self._redis.register_script(_POUR)
        self._release = self._redis.register_script(_RELEASE)
        self._lease = self._redis.register_script(_LEASE)
        self._consume_leased = self._redis.register_script(_CONSUME_LEASED)

    @_unavailable_on_redis_error
    def put(self, key: str, value: bytes, ttl: float) -> None:
        self._redis.set(key, value, px=max(1, int(ttl * 1000)))

    @_unavailable_on_redis_error
    def get(self, key: str) -> bytes | None:
        return self._redis.get(key)

    @_unavailable_on_redis_error
    def get_many(self, *keys: str) -> list[bytes | None]:
        return list(self._redis.mget(keys)) if keys else []

    @_unavailable_on_redis_error
    def put_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(self._redis.set(key, value, px=max(1, int(ttl * 1000)), nx=True))

    @_unavailable_on_redis_error
    def release(self, key: str, value: bytes) -> bool:
        return bool(self._release(keys=[key], args=[value]))

    @_unavailable_on_redis_error
    def consume(self, key: str) -> bytes | None:
        return self._redis.getdel(key)

    @_unavailable_on_redis_error
    def lease(self, lease_key: str, holder: bytes, ttl: float,
              key: str) -> tuple[bool, bytes | None]:
        taken, value = self._lease(keys=[lease_key, key],
                                   args=[holder, max(1, int(ttl * 1000))])
        return bool(taken), value

    @_unavailable_on_redis_error
    def consume_leased(self, key: str, lease_key: str, holder: bytes) -> bytes | None:
        return self._consume_leased(keys=[key, lease_key], args=[holder])  # type: ignore[no-any-return]

    @_unavailable_on_redis_error
    def increment(self, counters: Sequence[tuple[str, float | None]], by: int = 1) -> list[Count]:
        keys = [key for key, _ in counters]
        ttls = [0 if ttl is None else max(1, int(ttl * 1000)) for _, ttl in counters]
        flat = self._increment(keys=keys, args=[by, *ttls])
        return [
            Count(int(value), None if pttl < 0 else pttl / 1000)
            for value, pttl in zip(flat[::2], flat[1::2], strict=True)
        ]

    @_unavailable_on_redis_error
    def pour(self, key: str, amount: int, capacity: int, drain_every: float) -> BucketLevel:
        drain_ms = max(1, int(drain_every * 1000))
        accepted, retry_ms = self._pour(keys=[key], args=[amount, capacity, drain_ms])
        return BucketLevel(bool(accepted), int(retry_ms) / 1000)

    @_unavailable_on_redis_error
    def delete(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*keys)

    @_unavailable_on_redis_error
    def ping(self) -> None:
        self._redis.ping()
