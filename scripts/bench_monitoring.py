#!/usr/bin/env python3
"""Benchmark of MFA monitoring over a large audit trail (not a test: it asserts nothing).

Seeds N audit events (default 100,000: the MFA and SMS events authserver.monitoring counts, and
others it must skip, spread over 30 days and the factors, oldest first) with bulk INSERTs into a
fresh SQLite database, and into a fresh schema of a PostgreSQL database when ``--database-url``
is given. Prints the time of one ``MfaMonitoring.daily(14)``, ``sms_daily(14)`` and ``totals()``
call in process; then starts ``protekt serve`` on loopback on that database and prints
requests/s and p50/p95/p99 latency of ``GET /health`` (the baseline, measured in the same run)
and ``GET /metrics`` under the same load (with no reuse: one request counts while the others get
the last count; then with the default 5-second reuse), of ``GET /metrics`` one request at a
time, as a Prometheus scraper sends them, and of the dashboard's Monitoring and Security pages
for a signed-in administrator.

    .venv/bin/python scripts/bench_monitoring.py
    .venv/bin/python scripts/bench_monitoring.py --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from bench import (
    CORES,
    PASSWORD,
    REDIS_URL,
    Result,
    database,
    drive,
    prepare,
    running,
    server_command,
)
from sqlalchemy.orm import Session

from authserver.mfa import totp
from authserver.models import AuditEvent
from authserver.models.base import utcnow
from authserver.monitoring import MfaMonitoring
from tests.support import TEST_ENCRYPTION_KEY, free_port, protekt

ADMIN = "admin@example.org"

CHUNK = 10_000
# (type, detail, weight): roughly a day of an MFA deployment, and 10 % of events monitoring skips.
MIX: list[tuple[str, dict[str, Any], int]] = [
    ("mfa.challenge", {"factor": "otp"}, 20),
    ("mfa.challenge", {"factor": "sms"}, 10),
    ("mfa.verify.success", {"factor": "otp"}, 18),
    ("mfa.verify.success", {"factor": "sms"}, 9),
    ("mfa.recovery_code.used", {"factor": "recovery-code"}, 1),
    ("mfa.verify.failure", {"factor": "otp"}, 4),
    ("mfa.verify.failure", {"factor": "sms", "reason": "expired"}, 1),
    ("mfa.verify.failure", {"factor": "recovery-code"}, 1),
    ("mfa.locked", {"factor": "otp", "limits": ["mfa-user"]}, 1),
    ("sms.sent", {"segments": 1, "provider": "file", "to": "+1******2671"}, 10),
    ("sms.failed", {"outcome": "refused", "provider": "file", "to": "+1******2671"}, 1),
    ("sms.credits.debited", {"amount": 1, "balance": 1000}, 11),
    ("sms.credits.refunded", {"amount": 1, "balance": 1000}, 1),
    ("login.success", {}, 8),
    ("mfa.required", {}, 2),
]


def events(count: int, days: int) -> Iterator[dict[str, Any]]:
    """``count`` events drawn from MIX at random instants of the last ``days`` days, oldest
    first: ids follow time, as in a real trail (which is what an index on time relies on)."""
    rng = random.Random(6238)
    start = utcnow() - timedelta(days=days)
    ages = sorted(rng.uniform(0, days * 86400) for _ in range(count))
    kinds = rng.choices(MIX, weights=[weight for _, _, weight in MIX], k=count)
    for (kind, detail, _), age in zip(kinds, ages, strict=True):
        yield {"type": kind, "user_id": f"{rng.randrange(5000):036d}", "client_id": "bench",
               "ip": "192.0.2.7", "detail": detail, "created_at": start + timedelta(seconds=age)}


def seed(url: str, count: int, days: int) -> float:
    """Insert the events CHUNK rows per executemany; the seconds it took."""
    engine = sa.create_engine(url)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in events(count, days):
            batch.append(row)
            if len(batch) == CHUNK:
                conn.execute(sa.insert(AuditEvent), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(AuditEvent), batch)
    engine.dispose()
    return time.perf_counter() - started


def timed(call: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def print_calls(url: str) -> None:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        session.execute(sa.text("SELECT 1"))  # connected before the clock starts
        monitoring = MfaMonitoring(session)
        for label, call in (("MfaMonitoring.daily(14)", lambda: monitoring.daily(14)),
                            ("MfaMonitoring.sms_daily(14)", lambda: monitoring.sms_daily(14)),
                            ("MfaMonitoring.totals()", monitoring.totals)):
            print(f"  {label:<46} {timed(call):8.1f} ms  (one call, in process)")
    engine.dispose()


def row(label: str, result: Result, ratio: str = "") -> str:
    errors = f"  ({result.errors} unexpected answers)" if result.errors else ""
    return (f"  {label:<46} {result.rps:8.1f}/s  p50 {result.percentile(50):6.1f} ms  "
            f"p95 {result.percentile(95):6.1f} ms  p99 {result.percentile(99):6.1f} ms"
            f"  {ratio}{errors}")


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    port = free_port()
    env = {"PROTEKT_DATABASE_URL": url, "PROTEKT_REDIS_URL": REDIS_URL,
           "PROTEKT_REDIS_PREFIX": f"protekt-bench-monitoring-{secrets.token_hex(4)}",
           "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
           "PROTEKT_ISSUER": f"http://127.0.0.1:{port}"}
    target = prepare(env)  # migrated, with a client whose Basic header the load sends
    protekt(env, "create-admin", "--email", ADMIN, "--password", PASSWORD)
    seconds = seed(url, args.events, args.days)
    print(f"\n{name}: {args.events:,} audit events over {args.days} days, inserted in "
          f"{seconds:.1f} s; {args.workers} workers x {args.threads} threads, "
          f"{args.concurrency} connections, {args.seconds:.0f} s per scenario")
    print_calls(url)
    command = server_command("granian", port, args.workers, args.threads)
    with running(command, {**env, "PROTEKT_METRICS_CACHE_SECONDS": "0"}, port):
        drive("metrics", target, 2, 1.0)  # warm-up: pools filled
        health = drive("health", target, args.concurrency, args.seconds)
        print(row("GET /health (baseline)", health))
        metrics = drive("metrics", target, args.concurrency, args.seconds)
        print(row("GET /metrics, reuse 0 s (one count at a time)", metrics,
                  f"{metrics.rps / health.rps:6.1%} of /health"))
        scraper = drive("metrics", target, 1, args.seconds)
        print(row("GET /metrics, 1 connection (as a scraper)", scraper))
    with running(command, env, port):
        cached = drive("metrics", target, args.concurrency, args.seconds)
        print(row("GET /metrics, reused 5 s (the default)", cached,
                  f"{cached.rps / health.rps:6.1%} of /health"))
        signed_in = replace(target, cookie=admin_cookie(port))
        for page in ("monitoring", "security"):
            result = drive(f"dashboard-{page}", signed_in, args.concurrency, args.seconds)
            print(row(f"GET /dashboard/{page}", result,
                      f"{result.rps / health.rps:6.1%} of /health"))


def admin_cookie(port: int) -> str:
    """The cookie of an administrator signed in as a browser does: password, then the first
    sign-in's authenticator app, with a code computed from the key on the page."""
    http, base = requests.Session(), f"http://127.0.0.1:{port}/dashboard"

    def post(path: str, page: str, **form: str) -> str:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf, page
        return http.post(base + path, data={"csrf_token": csrf.group(1), **form}, timeout=10).text

    enroll = post("/signin", http.get(base + "/signin", timeout=10).text, email=ADMIN,
                  password=PASSWORD)
    key = re.search(r'<code id="secret">([A-Z2-7]+)</code>', enroll)
    assert key, enroll
    code = totp.hotp(totp.secret_key(key.group(1)), int(time.time() // 30))
    post("/signin/enroll", enroll, code=code)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="protekt-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'protekt.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL too: postgresql+psycopg://…")
    parser.add_argument("--workers", type=int, default=CORES)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"Protekt monitoring benchmark on {CORES} cores")
    with sqlite_database() as url:
        bench("SQLite", url, args)
    if args.database_url:
        with database(args.database_url) as url:
            bench("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
