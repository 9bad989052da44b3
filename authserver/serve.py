"""The production server: gunicorn with threaded workers, each building its own app.

Each worker process calls ``create_app()`` after the fork, so it opens its own database pool and
parses the signing keys once. Threads serve concurrent requests; argon2 releases the GIL, and the
password hasher bounds concurrent hashes to the process's share of the cores.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from authserver import create_app


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25: one socket per home
            self.cfg.set("control_socket_disable", True)  # would collide between servers

    def load(self) -> Any:
        return create_app()


def run(host: str, port: int, workers: int, threads: int, log_level: str) -> None:
    """Serve until interrupted."""
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": log_level.lower(),
        "proc_name": "protekt",
    }).run()
