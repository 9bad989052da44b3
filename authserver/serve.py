"""The production server: granian, serving the WSGI app from several processes.

Each worker process calls ``create_app()`` itself (granian's factory mode), so it opens its own
database pool and parses the signing keys once. Blocking threads serve concurrent requests;
argon2 releases the GIL, and the password hasher bounds concurrent hashes to the process's share
of the cores, so threads beyond that keep other requests moving during a login storm.

Granian was chosen over gunicorn (gthread) by measurement: ``scripts/bench.py --server both``
(figures in the README).
"""

from __future__ import annotations

import ctypes
import logging

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels


class _ThreadCountWarning(logging.Filter):
    """Drops granian's warning about more threads than 2 x cores + 1. Here most threads wait on
    the password hasher's semaphore, not the interpreter, and fewer threads than concurrent
    logins stall every other request (JWKS p50 from 0.3 ms to 100 ms in scripts/bench.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Python threads" not in record.getMessage()


# glibc's mallopt parameter for the size from which a block is its own mmap (malloc.h).
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 1 << 20  # bytes; an argon2id hash takes 19 MiB at the OWASP parameters


def return_large_blocks() -> bool:
    """Give memory blocks of LARGE_BLOCK or more back to the system as soon as they are freed.

    Each password hash allocates its argon2 memory (19 MiB) in the thread that runs it. glibc
    raises its mmap threshold after the first such block is freed, so later ones come from the
    per-thread heaps, which keep them: with 16 threads a worker grew from 107 MiB to about
    400 MiB after a login storm (scripts/bench_peer.py). A fixed threshold keeps every hash an
    mmap of its own, unmapped when done. Set before the workers fork, they inherit it. False
    where the C library has no mallopt (not glibc): nothing changes there.
    """
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK))
    except (AttributeError, OSError):
        return False


def run(host: str, port: int, workers: int, threads: int, log_level: str) -> None:
    """Serve until interrupted (SIGINT or SIGTERM stops gracefully)."""
    logging.getLogger("_granian").addFilter(_ThreadCountWarning())
    return_large_blocks()
    Granian(
        target="authserver:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        websockets=False,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=threads,
        log_level=LogLevels(log_level.lower()),
        log_access=False,
        respawn_failed_workers=True,
    ).serve()
