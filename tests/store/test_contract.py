"""One contract, two implementations: Redis (a real redis-server) and the in-process store."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from authserver.store import MemoryStore, RedisStore, Store, StoreUnavailable, open_store
from tests.support import REDIS_TIMEOUT, free_port, run_parallel


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    prefix = f"protekt-test-{secrets.token_hex(6)}"
    if request.param == "memory":
        yield open_store("memory://", prefix, REDIS_TIMEOUT)
        return
    url = request.getfixturevalue("redis_url")
    yield open_store(url, prefix, REDIS_TIMEOUT)
    raw = redis.Redis.from_url(url)
    for key in raw.scan_iter(match=f"{prefix}:*"):
        raw.delete(key)


def test_open_store_picks_the_implementation_from_the_url() -> None:
    assert isinstance(open_store("memory://", "p", REDIS_TIMEOUT), MemoryStore)
    assert isinstance(open_store("redis://127.0.0.1:6379/0", "p", REDIS_TIMEOUT), RedisStore)


def test_put_then_get_returns_the_value(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("k", b"value", ttl=30)
    assert ns.get("k") == b"value"
    assert ns.get("missing") is None


def test_put_replaces_the_previous_value(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("k", b"one", ttl=30)
    ns.put("k", b"two", ttl=30)
    assert ns.get("k") == b"two"


def test_values_expire_after_their_ttl(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("k", b"value", ttl=0.2)
    time.sleep(0.35)
    assert ns.get("k") is None
    assert ns.consume("k") is None


def test_consume_returns_the_value_once(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("k", b"value", ttl=30)
    assert ns.consume("k") == b"value"
    assert ns.consume("k") is None
    assert ns.get("k") is None


def test_parallel_consumers_get_the_value_exactly_once(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("ticket", b"secret", ttl=30)
    results = run_parallel(30, lambda: ns.consume("ticket"))
    assert results.count(b"secret") == 1
    assert results.count(None) == 29


def test_namespaces_do_not_see_each_other(store: Store) -> None:
    store.namespace("a").put("k", b"in a", ttl=30)
    assert store.namespace("b").get("k") is None
    assert store.namespace("a").get("k") == b"in a"


def test_increment_counts_and_reports_the_window(store: Store) -> None:
    ns = store.namespace("t")
    first, = ns.increment([("c", 60)])
    second, = ns.increment([("c", 60)])
    assert (first.value, second.value) == (1, 2)
    assert second.expires_in is not None and 58 < second.expires_in <= 60


def test_increment_keeps_the_window_of_the_first_hit(store: Store) -> None:
    ns = store.namespace("t")
    ns.increment([("c", 0.4)])
    time.sleep(0.2)
    ns.increment([("c", 0.4)])  # must not extend the window
    time.sleep(0.3)
    count, = ns.increment([("c", 0.4)])
    assert count.value == 1


def test_increment_without_ttl_never_expires(store: Store) -> None:
    ns = store.namespace("t")
    ns.increment([("c", None)])
    count, = ns.increment([("c", None)])
    assert count == type(count)(2, None)


def test_increment_several_counters_in_one_call(store: Store) -> None:
    ns = store.namespace("t")
    ns.increment([("a", 60)])
    counts = ns.increment([("a", 60), ("b", None)])
    assert [c.value for c in counts] == [2, 1]
    assert counts[1].expires_in is None


def test_negative_increment_never_creates_nor_goes_below_zero(store: Store) -> None:
    ns = store.namespace("t")
    missing, = ns.increment([("absent", 60)], by=-1)
    assert missing.value == 0
    assert ns.increment([("absent", 60)])[0].value == 1  # it was not created at -1
    ns.increment([("absent", 60)], by=-5)
    assert ns.increment([("absent", 60)])[0].value == 1


def test_parallel_increments_are_all_counted(store: Store) -> None:
    ns = store.namespace("t")
    results = run_parallel(40, lambda: ns.increment([("c", 60)])[0].value)
    assert sorted(results) == list(range(1, 41))


def test_delete_removes_keys_and_ignores_missing_ones(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("a", b"1", ttl=30)
    ns.increment([("b", None)])
    ns.delete("a", "b", "never-there")
    assert ns.get("a") is None
    assert ns.increment([("b", None)])[0].value == 1


def test_get_many_reads_each_live_value_of_the_namespace(store: Store) -> None:
    ns, other = store.namespace("t"), store.namespace("u")
    assert ns.get_many() == []
    assert ns.get_many("a", "b") == [None, None]
    other.put("a", b"1", ttl=30)
    assert ns.get_many("a", "b") == [None, None]  # another namespace's key is not ours
    ns.put("b", b"2", ttl=0.2)
    assert ns.get_many("a", "b") == [None, b"2"] and ns.get_many("b") == [b"2"]
    time.sleep(0.3)
    assert ns.get_many("a", "b") == [None, None]


def test_put_if_absent_stores_only_once_until_the_value_expires(store: Store) -> None:
    ns = store.namespace("t")
    assert ns.put_if_absent("lease", b"first", ttl=0.2)
    assert not ns.put_if_absent("lease", b"second", ttl=0.2)
    assert ns.get("lease") == b"first"
    time.sleep(0.35)
    assert ns.put_if_absent("lease", b"third", ttl=30)


def test_release_deletes_only_the_holders_own_lease(store: Store) -> None:
    ns = store.namespace("t")
    ns.put_if_absent("lease", b"mine", ttl=0.2)
    time.sleep(0.35)  # expired; another caller takes it
    assert ns.put_if_absent("lease", b"theirs", ttl=30)
    assert not ns.release("lease", b"mine")
    assert ns.get("lease") == b"theirs"
    assert ns.release("lease", b"theirs")
    assert ns.get("lease") is None
    assert not ns.release("never-there", b"x")


def test_put_if_absent_has_one_winner_among_parallel_callers(store: Store) -> None:
    ns = store.namespace("t")
    results = run_parallel(30, lambda: ns.put_if_absent("lease", b"x", ttl=30))
    assert results.count(True) == 1


def test_a_bucket_takes_up_to_its_capacity_then_refuses(store: Store) -> None:
    ns = store.namespace("t")
    assert all(ns.pour("b", 1, capacity=3, drain_every=60).accepted for _ in range(3))
    refused = ns.pour("b", 1, capacity=3, drain_every=60)
    assert not refused.accepted
    assert 59 < refused.retry_after <= 60  # one unit drains in a minute


def test_a_bucket_drains_over_time(store: Store) -> None:
    ns = store.namespace("t")
    for _ in range(2):
        ns.pour("b", 1, capacity=2, drain_every=0.2)
    assert not ns.pour("b", 1, capacity=2, drain_every=0.2).accepted
    time.sleep(0.25)
    assert ns.pour("b", 1, capacity=2, drain_every=0.2).accepted
    assert not ns.pour("b", 1, capacity=2, drain_every=0.2).accepted


def test_taking_out_of_a_bucket_makes_room_and_never_goes_below_empty(store: Store) -> None:
    ns = store.namespace("t")
    ns.pour("b", 1, capacity=1, drain_every=60)
    assert ns.pour("b", -5, capacity=1, drain_every=60).accepted
    assert ns.pour("b", 1, capacity=1, drain_every=60).accepted
    assert not ns.pour("b", 1, capacity=1, drain_every=60).accepted


def test_a_bucket_admits_exactly_its_capacity_under_parallel_pours(store: Store) -> None:
    ns = store.namespace("t")
    results = run_parallel(40, lambda: ns.pour("b", 1, capacity=10, drain_every=600).accepted)
    assert results.count(True) == 10


def test_ping_answers(store: Store) -> None:
    store.ping()


def test_every_operation_fails_closed_when_redis_is_unreachable() -> None:
    ns = open_store(f"redis://127.0.0.1:{free_port()}/0", "p", REDIS_TIMEOUT).namespace("t")
    operations: list[Callable[[], object]] = [
        lambda: ns.put("k", b"v", ttl=1), lambda: ns.get("k"), lambda: ns.consume("k"),
        lambda: ns.increment([("k", 1)]), lambda: ns.delete("k"),
        lambda: ns.put_if_absent("k", b"v", ttl=1), lambda: ns.pour("k", 1, 10, 1),
        lambda: ns.release("k", b"v"),
    ]
    for operation in operations:
        with pytest.raises(StoreUnavailable) as caught:
            operation()
        assert caught.value.status_code == 503
        assert "redis" in caught.value.detail


def test_lease_takes_a_free_lease_and_reads_the_record_under_it(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("record", b"value", ttl=30)
    assert ns.lease("lease", b"mine", ttl=30, key="record") == (True, b"value")
    assert ns.lease("lease", b"theirs", ttl=30, key="record") == (False, None)
    assert ns.get("lease") == b"mine"  # the first holder's, untouched by the refusal
    assert ns.lease("other-lease", b"mine", ttl=30, key="missing") == (True, None)


def test_a_lease_expires_after_its_ttl(store: Store) -> None:
    ns = store.namespace("t")
    assert ns.lease("lease", b"mine", ttl=0.2, key="record")[0]
    time.sleep(0.35)
    assert ns.lease("lease", b"theirs", ttl=30, key="record")[0]


def test_consume_leased_takes_the_record_and_only_the_holders_lease(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("record", b"value", ttl=30)
    ns.lease("lease", b"mine", ttl=30, key="record")
    assert ns.consume_leased("record", "lease", b"theirs") == b"value"
    assert ns.get("lease") == b"mine"  # another holder's lease stays
    assert ns.consume_leased("record", "lease", b"mine") is None  # used up already
    assert ns.get("lease") is None


def test_of_parallel_consume_leased_one_gets_the_record(store: Store) -> None:
    ns = store.namespace("t")
    ns.put("record", b"value", ttl=30)
    got = run_parallel(20, lambda: ns.consume_leased("record", "lease", b"x"))
    assert got.count(b"value") == 1
