#!/usr/bin/env python3
"""Soak: ``protekt serve --workers 2`` (PostgreSQL, Redis) under a steady mix of grants for a long
run, reported minute by minute (not a test: it asserts nothing).

The mix, three wrk processes at once (Debian's ``wrk`` 4, scripts/wrk/), on loopback:

- client_credentials (post_paced.lua), 4 connections;
- refresh_token on rotating tokens (refresh.lua), 4 connections, seeded each window by password
  logins;
- the guide's MFA login (mfa_login.lua): the password grant answering ``mfa_required``, then the
  mfa-otp grant with the user's code of the current step; 4 threads of one connection each, over
  users with an authenticator app (each signs in at most once per 30-second step).

First a probe runs the three flat out together for ``--probe-seconds``: the mix's capacity on
this machine. The soak then paces each at ``--share`` (70 % by default) of its probed rate, in
windows of ``--window`` seconds, for ``--minutes``; after each window it reads the workers'
resident memory (VmRSS). Each row: per part, requests/s, p99 latency and errors (answers other
than expected, and socket errors); the workers' RSS. The summary compares the first and the last
fifth of the run. wrk and the server share the machine: on 2 cores the load generator takes a
share of the CPU the capacity is measured with, as it does in the soak.

    .venv/bin/python scripts/soak.py                           # 30 minutes at 70 %
    .venv/bin/python scripts/soak.py --minutes 2 --window 30   # a short check of the script

Needs PostgreSQL and Redis as scripts/bench.py does (PROTEKT_TEST_POSTGRES_URL,
PROTEKT_TEST_REDIS_URL).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authserver.mfa import totp  # noqa: E402
from scripts import bench, bench_peer  # noqa: E402
from tests.support import free_port  # noqa: E402

WORKERS = 2
CONNECTIONS = 4  # per part
MFA_USERS = 2400  # two halves, in turns: enough for about 40 logins/s, each user once a step
MIN_WINDOW = 30  # seconds: a user of one window waits a whole window, so the next step comes
PARTS = ("client_credentials", "refresh_token", "mfa login")


@dataclass(frozen=True)
class Reading:
    """One part's figures over one window."""

    rps: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class Soak:
    """What every window needs: the server, its users, the inputs' files."""

    server: bench_peer.Server
    target: bench.Target
    process: subprocess.Popen[bytes]
    mfa_secrets: dict[str, str]
    files: Path


def codes_file(soak: Soak, seconds: float, half: int) -> Path:
    """The MFA users of one half (windows take the halves in turns, so a user who signed in at
    the end of one window is not asked again in the same step by the next, whose wrk process
    does not know), with their codes for every step from now until the window ends."""
    first, last = totp.time_step(time.time()) - 1, totp.time_step(time.time() + seconds) + 1
    path = soak.files / "mfa_users.tsv"
    users = list(soak.mfa_secrets.items())[half::2]
    with path.open("w") as lines:
        for email, secret in users:
            key = totp.secret_key(secret)
            codes = " ".join(f"{step}={totp.hotp(key, step)}" for step in range(first, last + 1))
            lines.write(f"{email}\t{codes}\n")
    return path


def refresh_seeds(soak: Soak) -> Path:
    """One password login per refresh connection: the chains this window rotates."""
    path = soak.files / "refresh_seeds.txt"
    path.write_text("\n".join(bench_peer.logins(soak.target, CONNECTIONS + 1)) + "\n")
    return path


def commands(soak: Soak, seconds: float, rates: dict[str, float] | None,
             half: int) -> dict[str, list[str]]:
    """The three wrk command lines; flat out when rates is None, else paced at rates (per s)."""
    def rate(part: str, threads: int = 1) -> list[str]:
        return [] if rates is None else [f"{rates[part] / threads:.3f}"]

    token_url, basic = soak.server.url("/oauth/token"), soak.server.authorization
    common = {"seconds": seconds, "threads": 1, "connections": CONNECTIONS}
    cc_script = "post_form.lua" if rates is None else "post_paced.lua"
    mfa_rate = rate("mfa login", CONNECTIONS) or ["1000"]
    return {
        "client_credentials": bench_peer.wrk_command(
            token_url, cc_script, [bench_peer.CC_BODY, basic, *rate("client_credentials")],
            **common),
        "refresh_token": bench_peer.wrk_command(
            token_url, "refresh.lua", [str(refresh_seeds(soak)), basic, *rate("refresh_token")],
            **common),
        "mfa login": bench_peer.wrk_command(
            token_url, "mfa_login.lua",
            [str(codes_file(soak, seconds, half)), basic, bench.PASSWORD, *mfa_rate,
             str(CONNECTIONS)],
            seconds=seconds, threads=CONNECTIONS, connections=CONNECTIONS),
    }


def window(soak: Soak, seconds: float, rates: dict[str, float] | None,
           half: int) -> dict[str, Reading]:
    """The three parts at once for `seconds`; each one's reading."""
    lines = commands(soak, seconds, rates, half)
    running = {part: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for part, command in lines.items()}
    readings = {}
    for part, process in running.items():
        out, err = process.communicate(timeout=seconds + 120)
        done = subprocess.CompletedProcess(lines[part], process.returncode, out, err)
        raw = bench_peer.wrk_answer(lines[part], done)
        misses = raw["unexpected"] if raw["unexpected"] >= 0 else raw["non_2xx"]
        # mfa login: each login is two requests; its rate counts logins
        per = 2 if part == "mfa login" else 1
        readings[part] = Reading(raw["requests"] / per / raw["seconds"], raw["p99_ms"],
                                 int(misses + raw["socket_errors"]))
    return readings


def worker_rss(soak: Soak) -> list[float]:
    return [bench_peer.rss_mib(pid) for pid in bench_peer.process_tree(soak.process.pid)[1:]]


def row(label: str, readings: dict[str, Reading], rss: list[float]) -> str:
    cells = "".join(f" {r.rps:8.1f} {r.p99_ms:8.1f} {r.errors:6d}" for r in readings.values())
    return (f"{label:>8}{cells} {' '.join(f'{mib:6.0f}' for mib in rss)}"
            f" {os.getloadavg()[0]:5.1f}")


def header() -> str:
    parts = "".join(f" {name[:26]:>24}" for name in PARTS)
    cells = " ".join(["   req/s   p99 ms errors"] * len(PARTS))
    return f"{'':>8}{parts}\n{'minute':>8} {cells} {'RSS MiB per worker':>13} load"


def summary(rows: list[tuple[dict[str, Reading], list[float]]]) -> list[str]:
    """Errors over the run; p99 and RSS in the first and the last fifth."""
    fifth = max(1, len(rows) // 5)
    first, last = rows[:fifth], rows[-fifth:]

    def worst_p99(chunk: list[tuple[dict[str, Reading], list[float]]], part: str) -> float:
        return max(readings[part].p99_ms for readings, _ in chunk)

    def mean_rss(chunk: list[tuple[dict[str, Reading], list[float]]]) -> float:
        return sum(sum(rss) / len(rss) for _, rss in chunk) / len(chunk)

    lines = ["errors over the run: "
             + ", ".join(f"{part} {sum(r[part].errors for r, _ in rows)}" for part in PARTS)]
    lines += ["p99, worst window of the first and the last fifth: " + ", ".join(
        f"{part} {worst_p99(first, part):.1f} → {worst_p99(last, part):.1f} ms"
        for part in PARTS)]
    lines += [f"RSS per worker, mean of the first and the last fifth: {mean_rss(first):.0f} → "
              f"{mean_rss(last):.0f} MiB (after the first window: {sum(rows[0][1]) / 2:.0f}, "
              f"after the last: {sum(rows[-1][1]) / 2:.0f})"]
    return lines


def run(soak: Soak, args: argparse.Namespace) -> None:
    probe = window(soak, args.probe_seconds, None, half=0)
    print(row("probe", probe, worker_rss(soak)), flush=True)
    rates = {part: reading.rps * args.share for part, reading in probe.items()}
    print("paced at " + ", ".join(f"{part} {rate:.0f}/s" for part, rate in rates.items())
          + f" ({args.share:.0%} of the probe)", flush=True)
    rows = []
    for index in range(math.ceil(args.minutes * 60 / args.window)):
        readings = window(soak, args.window, rates, half=(index + 1) % 2)
        rows.append((readings, worker_rss(soak)))
        print(row(f"{(index + 1) * args.window / 60:.1f}", *rows[-1]), flush=True)
    print("\n".join(["", *summary(rows)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--share", type=float, default=0.7, help="of the probed capacity")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per row")
    parser.add_argument("--probe-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.window < MIN_WINDOW or args.probe_seconds < MIN_WINDOW:
        parser.error(f"--window and --probe-seconds must be {MIN_WINDOW} s or more")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with bench.database() as url, tempfile.TemporaryDirectory() as files:
        env = bench.server_env(url, free_port(), WORKERS)
        target = bench.prepare(env)
        with bench_peer.one_hash():
            mfa_secrets = bench.prepare_mfa(env, MFA_USERS)
        with bench_peer.protekt_server(env, target, WORKERS) as (server, process):
            soak = Soak(server, target, process, mfa_secrets, Path(files))
            bench_peer.warm_up(bench_peer.Run(1, CONNECTIONS, set(), {}), server,
                               bench_peer.CC_BODY)
            print(f"protekt serve --workers {WORKERS}, {bench_peer.THREADS} threads each; "
                  f"{args.minutes:g} minutes in windows of {args.window:g} s\n", flush=True)
            print(header(), flush=True)
            run(soak, args)


if __name__ == "__main__":
    main()
