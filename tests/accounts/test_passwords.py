"""argon2id hashing (RFC 9106): parameters, verification, the dummy hash, bounded concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import argon2

from authserver.accounts.passwords import PasswordHasher


def fast(concurrency: int = 2) -> PasswordHasher:
    return PasswordHasher(memory_kib=1024, time_cost=1, parallelism=1, concurrency=concurrency)


def test_hashes_are_argon2id_with_the_configured_parameters() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, parallelism=1, concurrency=1)
    stored = hasher.hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "correct horse" not in stored


def test_verify_accepts_the_password_and_refuses_others() -> None:
    hasher = fast()
    stored = hasher.hash("correct horse")
    assert hasher.verify(stored, "correct horse")
    assert not hasher.verify(stored, "correct horse!")
    assert not hasher.verify("not a hash", "correct horse")


class ObservedArgon2(argon2.PasswordHasher):
    """The argon2-cffi hasher, recording what it is asked to do."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verified: list[str] = []
        self.threads: set[str] = set()
        self.running = self.peak = 0
        self.lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.add(threading.current_thread().name)
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.02)
        try:
            return super().hash(password, salt=salt)
        finally:
            with self.lock:
                self.running -= 1


def observed(hasher: PasswordHasher) -> ObservedArgon2:
    hasher._argon2 = ObservedArgon2(memory_cost=1024, time_cost=1, parallelism=1)
    return hasher._argon2


def test_an_unknown_user_costs_one_real_verification_and_never_matches() -> None:
    hasher = fast()
    argon = observed(hasher)
    assert not hasher.verify(None, "anything")
    verified = argon.verified
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_an_unknown_user_is_verified_with_a_single_hashing_slot() -> None:
    """`protekt serve` on 2 cores with 2 workers gives each process one slot."""
    hasher = fast(concurrency=1)
    done = threading.Event()
    threading.Thread(target=lambda: (hasher.verify(None, "pw"), done.set()), daemon=True).start()
    assert done.wait(timeout=10), "verify(None, ...) deadlocked on its own semaphore"


def test_needs_rehash_when_parameters_change() -> None:
    old = fast().hash("pw")
    assert fast().needs_rehash(old) is False
    stronger = PasswordHasher(memory_kib=2048, time_cost=2, parallelism=1, concurrency=1)
    assert stronger.needs_rehash(old) is True


def test_no_more_hashes_run_at_once_than_the_concurrency_bound() -> None:
    hasher = fast(concurrency=2)
    argon = observed(hasher)
    threads = [threading.Thread(target=hasher.hash, args=("pw",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert argon.peak == 2


def test_hashes_run_on_a_few_threads_of_their_own() -> None:
    """Not on the threads that serve requests: each hash's 19 MiB is then reused by the same
    few threads instead of kept by every request thread (a worker's memory stays bounded)."""
    hasher = fast(concurrency=2)
    argon = observed(hasher)
    threads = [threading.Thread(target=hasher.hash, args=("pw",), name=f"request-{n}")
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= len(argon.threads) <= 2
    assert all(name.startswith("argon2") for name in argon.threads)
