"""Password hashing with argon2id (RFC 9106), bounded to the cores.

argon2-cffi releases the GIL while it hashes, so other requests keep running. Hashes run on a
few threads of their own, as many as this process's share of the cores: a burst of logins
queues instead of starving every other request of CPU, and the 19 MiB each hash needs is
allocated again and again by the same threads, which reuse it. (Run on the request threads, each
of the 16 kept its own 19 MiB: a worker grew from 107 MiB to about 400 MiB after a login storm.)
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8  # NIST SP 800-63B §5.1.1.2: at least 8 characters
MAX_LENGTH = 1024  # NIST SP 800-63B §5.1.1.2 asks for at least 64; longer only costs hashing
T = TypeVar("T")
_HASHING_THREADS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_HASHING_THREADS_LOCK = threading.Lock()


def _hashing_threads(count: int) -> ThreadPoolExecutor:
    """This process's ``count`` hashing threads, shared by its apps; made on first use in each
    process (threads do not survive a fork, so a pool made before one would be dead after)."""
    key = (os.getpid(), count)
    with _HASHING_THREADS_LOCK:
        if key not in _HASHING_THREADS:
            _HASHING_THREADS[key] = ThreadPoolExecutor(count, thread_name_prefix="argon2")
        return _HASHING_THREADS[key]


class PasswordHasher:
    """argon2id hashes with configurable cost; verification against a dummy hash when no user."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int, concurrency: int) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._concurrency = concurrency or max(1, os.cpu_count() or 1)

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash of a random password with the current parameters, for unknown users."""
        return self.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._on_hashing_threads(self._argon2.hash, password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when password matches stored_hash.

        With no stored hash (unknown user) a dummy hash is verified instead, so the answer takes
        the same time either way and does not reveal whether the account exists.
        """
        candidate = stored_hash or self._dummy_hash  # made (once) before queueing this one
        matched = self._on_hashing_threads(self._matches, candidate, password)
        return matched and stored_hash is not None

    def _matches(self, candidate: str, password: str) -> bool:
        try:
            return self._argon2.verify(candidate, password)
        except (VerificationError, InvalidHashError):
            return False

    def _on_hashing_threads(self, work: Callable[..., T], *args: str) -> T:
        return _hashing_threads(self._concurrency).submit(work, *args).result()

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        return self._argon2.check_needs_rehash(stored_hash)
