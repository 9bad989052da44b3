"""The production server: granian, serving the WSGI app from several processes.

Each worker process calls ``create_app()`` itself (granian's factory mode), so it opens its own
database pool and parses the signing keys once. Blocking threads serve concurrent requests;
argon2 releases the GIL, and the password hasher bounds concurrent hashes to the process's share
of the cores, so threads beyond that keep other requests moving during a login storm.

Granian was chosen over gunicorn (gthread) by measurement: ``scripts/bench.py --server both``
(figures in the README).
"""

from __future__ import annotations

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


def run(host: str, port: int, workers: int, threads: int, log_level: str) -> None:
    """Serve until interrupted (SIGINT or SIGTERM stops gracefully)."""
    logging.getLogger("_granian").addFilter(_ThreadCountWarning())
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
