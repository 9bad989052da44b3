"""Attempt limits: counted before the check, so parallel requests cannot pass them."""

from __future__ import annotations

import secrets

import pytest

from authserver.limits import AttemptLimiter, Limit, LimitReached
from authserver.store import open_store
from tests.support import REDIS_TIMEOUT, run_parallel

WINDOW = Limit("w", attempts=3, window=60, description="slow down")
CONSECUTIVE = Limit("c", attempts=5, window=None, description="locked")
BUCKET = Limit("b", attempts=3, window=None, description="wait", drain_every=60)


@pytest.fixture(params=["redis", "memory"])
def limiter(request: pytest.FixtureRequest) -> AttemptLimiter:
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    store = open_store(url, f"protekt-test-{secrets.token_hex(6)}", REDIS_TIMEOUT)
    return AttemptLimiter(store.namespace("l"))


def test_attempts_within_the_limit_pass_and_say_how_many_are_left(
    limiter: AttemptLimiter,
) -> None:
    assert [limiter.reserve([(WINDOW, "k"), (CONSECUTIVE, "k")]) for _ in range(3)] == [2, 1, 0]
    assert limiter.reserve([(BUCKET, "k")]) is None


def test_the_attempt_over_the_limit_is_refused_with_retry_after(limiter: AttemptLimiter) -> None:
    for _ in range(3):
        limiter.reserve([(WINDOW, "k")])
    with pytest.raises(LimitReached) as refused:
        limiter.reserve([(WINDOW, "k")])
    assert refused.value.status_code == 429
    assert refused.value.error == "too_many_attempts"
    assert 55 <= refused.value.retry_after <= 60
    assert refused.value.newly == ("w",)
    with pytest.raises(LimitReached) as again:
        limiter.reserve([(WINDOW, "k")])
    assert again.value.newly == ()  # only the first refusal "newly" crosses the limit


def test_keys_are_counted_separately(limiter: AttemptLimiter) -> None:
    for _ in range(3):
        limiter.reserve([(WINDOW, "a")])
    limiter.reserve([(WINDOW, "b")])


def test_forgiven_attempts_do_not_count(limiter: AttemptLimiter) -> None:
    for _ in range(10):
        limiter.reserve([(WINDOW, "k"), (CONSECUTIVE, "k")])
        limiter.forgive([(WINDOW, "k"), (CONSECUTIVE, "k")])


def test_a_success_resets_the_consecutive_count(limiter: AttemptLimiter) -> None:
    for _ in range(4):
        limiter.reserve([(CONSECUTIVE, "k")])
    limiter.forgive([(CONSECUTIVE, "k")])
    for _ in range(5):
        limiter.reserve([(CONSECUTIVE, "k")])
    with pytest.raises(LimitReached):
        limiter.reserve([(CONSECUTIVE, "k")])


def test_parallel_attempts_never_pass_more_than_the_limit(limiter: AttemptLimiter) -> None:
    def attempt() -> bool:
        try:
            limiter.reserve([(WINDOW, "k")])
        except LimitReached:
            return False
        return True

    results = run_parallel(30, attempt)
    assert results.count(True) == 3


def test_clear_unlocks(limiter: AttemptLimiter) -> None:
    for _ in range(5):
        limiter.reserve([(CONSECUTIVE, "k")])
    limiter.clear([(CONSECUTIVE, "k")])
    limiter.reserve([(CONSECUTIVE, "k")])


def test_a_bucket_refuses_past_its_burst_and_reports_the_lock_once(
    limiter: AttemptLimiter,
) -> None:
    for _ in range(3):
        limiter.reserve([(BUCKET, "k")])
    with pytest.raises(LimitReached) as refused:
        limiter.reserve([(BUCKET, "k")])
    assert 55 <= refused.value.retry_after <= 61
    assert refused.value.newly == ("b",)
    with pytest.raises(LimitReached) as again:
        limiter.reserve([(BUCKET, "k")])
    assert again.value.newly == ()


def test_a_forgiven_attempt_gives_its_unit_back_to_the_bucket(limiter: AttemptLimiter) -> None:
    for _ in range(10):
        limiter.reserve([(BUCKET, "k")])
        limiter.forgive([(BUCKET, "k")])


def test_a_full_bucket_counts_nothing_else(limiter: AttemptLimiter) -> None:
    for _ in range(3):
        limiter.reserve([(BUCKET, "k"), (CONSECUTIVE, "k")])
    for _ in range(5):
        with pytest.raises(LimitReached):
            limiter.reserve([(BUCKET, "k"), (CONSECUTIVE, "k")])
    limiter.clear([(BUCKET, "k")])
    limiter.reserve([(BUCKET, "k"), (CONSECUTIVE, "k")])  # the fourth consecutive attempt


def test_parallel_attempts_never_take_more_than_the_burst(limiter: AttemptLimiter) -> None:
    def attempt() -> tuple[bool, tuple[str, ...]]:
        try:
            limiter.reserve([(BUCKET, "k")])
        except LimitReached as refused:
            return False, refused.newly
        return True, ()

    results = run_parallel(30, attempt)
    assert [ok for ok, _ in results].count(True) == 3
    assert [newly for _, newly in results].count(("b",)) == 1
