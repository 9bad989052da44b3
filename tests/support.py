"""Real services for tests: free ports, a private redis-server, a cuttable TCP proxy, and
``protekt serve`` in a subprocess. Tests that stop a service stop only their own copy."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from authserver.config import Settings
from authserver.mfa import totp

T = TypeVar("T")
BIN = Path(sys.executable).parent
REDIS_TIMEOUT: float = Settings.redis_timeout  # the production default, for stores made in tests
TEST_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"protekt-test-encryption-key-0032").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_parallel(count: int, work: Callable[[], T]) -> list[T]:
    """Run work in count threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        results[index] = work()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A redis-server of the test's own on a free port; stop() and start() affect only it."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(self.port), timeout=10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        wait_until(lambda: not _port_open(self.port), timeout=10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps its port and connections but answers nothing,
        as a hung Redis or a network partition does."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


class LocalProcess:
    """A program of the test's on a free loopback port (PORT in its environment), its output
    kept in a log that is shown if it dies before it listens."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._argv = argv
        self._env = {**os.environ, **env, "PORT": str(self.port)}
        self._process: subprocess.Popen[str] | None = None
        self.log = Path(tempfile.gettempdir()) / f"protekt-test-process-{self.port}.log"

    def __enter__(self) -> LocalProcess:
        with self.log.open("w") as log:
            self._process = subprocess.Popen(self._argv, env=self._env, stdout=log,
                                             stderr=subprocess.STDOUT, text=True)
        wait_until(self._listening, timeout=30)
        return self

    def _listening(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"{self._argv[0]} exited:\n{self.log.read_text()}")
        return _port_open(self.port)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


class TcpProxy:
    """Forwards a local port to a target; cut() drops the listener and every connection,
    as a database outage does, without touching the real server behind it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def protekt(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``protekt`` command with env added to the environment."""
    return subprocess.run(
        [str(BIN / "protekt"), *args], env={**os.environ, **env}, capture_output=True,
        text=True, timeout=120, check=False,
    )


class ProtektServer:
    """``protekt serve`` on a free loopback port, as production runs it."""

    def __init__(self, env: Mapping[str, str], workers: int = 2, *,
                 host: str = "127.0.0.1") -> None:
        """``host`` names the issuer (``localhost`` for WebAuthn, which refuses IP addresses);
        the server listens on 127.0.0.1 either way."""
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        # Small pools: tests run servers side by side on one PostgreSQL (and CI may share it).
        self.env = {"PROTEKT_DATABASE_POOL_SIZE": "2", "PROTEKT_DATABASE_MAX_OVERFLOW": "6",
                    **env, "PROTEKT_ISSUER": self.url}
        self.workers = workers
        self._process: subprocess.Popen[str] | None = None
        self.log = Path(tempfile.gettempdir()) / f"protekt-serve-{self.port}.log"

    def start(self) -> None:
        with self.log.open("w") as log:
            self._process = subprocess.Popen(
                [str(BIN / "protekt"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, text=True,
            )
        wait_until(self._ready, timeout=30)

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"protekt serve exited:\n{self.log.read_text()}")
        try:
            return requests.get(f"{self.url}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=20)
            self._process = None


def scanned_secret(png: Path, account: str) -> str:
    """The secret of the otpauth:// URI that zbarimg (Debian zbar-tools) reads from a picture of
    a QR code, checked to be a TOTP key for ``account``."""
    uri = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True,
                         text=True, check=True).stdout.strip()
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp") and account in unquote(parts.path)
    return parse_qs(parts.query)["secret"][0]


class TotpDevice:
    """The user's authenticator app in tests: hands out codes the server has not seen yet.

    The server accepts one code per 30-second step and only steps later than the last one
    accepted (RFC 6238 §5.2), within one step of now. A code is taken from the current or the
    next step, never the previous one, so it cannot drift out of the window on its way; after
    two codes, the device waits for the clock.
    """

    def __init__(self, secret: str, code_at: Callable[[int], str] | None = None) -> None:
        self.secret = secret
        self.code_at = code_at or (lambda step: totp.hotp(totp.secret_key(secret), step))
        self.last_step: int | None = None

    def next_code(self) -> str:
        now = time.time()
        step = int(now // 30) if self.last_step is None else max(int(now // 30), self.last_step + 1)
        if step > int(now // 30) + 1:
            time.sleep((step - 1) * 30 - now + 0.05)
        self.last_step = step
        return self.code_at(step)

    def used_code(self) -> str:
        """The code most recently handed out (a replay)."""
        assert self.last_step is not None
        return self.code_at(self.last_step)


class Outbox:
    """The ``file`` SMS provider's JSON-lines outbox, read as the user's phone would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def last(self, to: str | None = None) -> dict[str, Any]:
        sent = [m for m in self.messages() if to is None or m["to"] == to]
        assert sent, f"no SMS in the outbox{f' to {to}' if to else ''}"
        return sent[-1]

    def last_code(self, to: str | None = None) -> str:
        message = self.last(to)
        assert message["code"] in message["body"]
        return message["code"]
