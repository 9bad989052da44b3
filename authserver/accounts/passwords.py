"""Password hashing with argon2id (RFC 9106), bounded to the cores.

argon2-cffi releases the GIL while it hashes, so other requests keep running; a semaphore keeps
the number of hashes in flight to this process's share of the cores, so a burst of logins queues
instead of starving every other request of CPU (and of 19 MiB of memory per hash).
"""

from __future__ import annotations

import os
import secrets
import threading
from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8  # NIST SP 800-63B §5.1.1.2: at least 8 characters
MAX_LENGTH = 1024  # NIST SP 800-63B §5.1.1.2 asks for at least 64; longer only costs hashing


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
        self._slots = threading.BoundedSemaphore(concurrency or max(1, os.cpu_count() or 1))

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash of a random password with the current parameters, for unknown users."""
        return self.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        with self._slots:
            return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when password matches stored_hash.

        With no stored hash (unknown user) a dummy hash is verified instead, so the answer takes
        the same time either way and does not reveal whether the account exists.
        """
        candidate = stored_hash or self._dummy_hash  # made (once) before taking a slot
        with self._slots:
            try:
                matched = self._argon2.verify(candidate, password)
            except (VerificationError, InvalidHashError):
                matched = False
        return matched and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        return self._argon2.check_needs_rehash(stored_hash)
