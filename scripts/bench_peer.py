#!/usr/bin/env python3
"""Protekt beside a peer server, node-oidc-provider 9, under one load generator (not a test: it
asserts nothing).

Both servers are driven by wrk (Debian's ``wrk`` 4: ``apt-get install -y wrk``) with the Lua
scripts of scripts/wrk/, one wrk thread and ``--connections`` keep-alive connections (``wrk -t1
-c16`` by default), on loopback, in one run:

1. One serving process each, on the client_credentials grant (both sign a JWT access token with
   a 2048-bit RSA key, RS256) and the JWKS: ``protekt serve --workers 1`` (16 threads; granian's
   main process only supervises) and node-oidc-provider (scripts/peer/provider.mjs, installed by
   ``npm ci`` there on first use, run with NODE_ENV=production), both up at once and measured in
   turns. Printed as Protekt's rate over the peer's. Beside them on client_credentials, the
   Flask floor (scripts/peer/flask_floor.py: the least a Flask token endpoint can do on granian,
   one worker with Protekt's threads: one client secret, one RS256 signature, no database or
   Redis): how much of the distance to the peer belongs to the stack and how much to Protekt.
2. Protekt alone, ``protekt serve --workers 2``: ``GET /health`` (the baseline of the light
   requests), client_credentials, the same paced at half its measured rate, the JWKS, the
   password grant (beside the argon2 ceiling: argon2id hashes per second with the server's
   parameters, one thread per core, measured just before), refresh_token, the OTP challenge
   (``POST /mfa/challenge``), mfa-otp, mfa-oob (SMS through the ``file`` provider) and the
   authorization_code exchange. Printed with ratios: refresh_token and mfa-otp over
   client_credentials, password over the argon2 ceiling, the others over /health.
3. After each server's runs: its processes' resident memory (VmRSS of /proc/<pid>/status), per
   worker; for Protekt with 2 workers also after the light requests, before any login.

Single-use inputs are made before the timed run: refresh.lua queues each answer's new refresh
token for a later request (seeded by one password login per connection); for mfa-otp, users with
an authenticator app, one request each (a TOTP code is single use per user and step), their
mfa_tokens fetched by password logins 16 at a time and the codes of the current step computed
here; for mfa-oob, users with a phone, each challenged (the code read from the outbox); for the
code exchange, codes from ``GET /authorize`` with a signed-in session. post_lines.lua sends each
once: a run ends when they are used up (its rate counts until the last answer) or after
``--seconds``. How many are made follows the refresh_token rate measured earlier in the run. The
users are made with one precomputed argon2id hash (the server's parameters), so making them costs
no hashing; their logins still verify a full hash.

Latency: wrk's p50 and p99 (its histogram, which wrk 4 corrects for coordinated omission with the
mean interval per connection). wrk2 is not in Debian: the half-load run paces the same
connections with wrk's delay() hook to a constant-rate schedule (as wrk2 does), but latency is
counted from each send, so a stall that holds every connection is under-counted beyond wrk's own
correction. non-2xx is wrk's count of answers with status 400 or more (no scenario here answers
a 3xx). wrk and the servers share the machine's cores: compare within a run, not across runs;
load is the 1-minute load average at the end of each row's run: this run's own processes count
in it too, but a figure far above the cores shows that something else competed for them.

    .venv/bin/python scripts/bench_peer.py                      # everything, 10 s per scenario
    .venv/bin/python scripts/bench_peer.py --seconds 5 --connections 32
    .venv/bin/python scripts/bench_peer.py --only client-credentials,jwks
    .venv/bin/python scripts/bench_peer.py --skip-peer --only refresh,mfa-otp

Scenarios (``--only``): health, client-credentials, jwks, password, refresh, challenge, mfa-otp,
mfa-oob, authorization-code. /health runs always (the baseline); the peer runs with
client-credentials or jwks unless ``--skip-peer``. Needs PostgreSQL and Redis as scripts/bench.py
does (PROTEKT_TEST_POSTGRES_URL, PROTEKT_TEST_REDIS_URL), node 20.19 or later and npm for the peer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authserver.accounts.passwords import PasswordHasher  # noqa: E402
from authserver.mfa import totp  # noqa: E402
from scripts import bench  # noqa: E402
from tests.support import Outbox, free_port  # noqa: E402

WRK_DIR = ROOT / "scripts" / "wrk"
PEER_DIR = ROOT / "scripts" / "peer"
WRK_THREADS = 1
WORKERS = 2  # Protekt alone; the peer comparison runs one process each
THREADS = 16  # per worker: protekt serve's default
SCENARIOS = ("health", "client-credentials", "jwks", "password", "refresh", "challenge",
             "mfa-otp", "mfa-oob", "authorization-code")
CAPS = {"mfa-otp": 3000, "mfa-oob": 2000, "authorization-code": 8000}  # single-use inputs made
PEER_CLIENT = ("bench", "bench-peer-secret")
FLOOR = "flask floor"
CC_BODY = "grant_type=client_credentials"


@dataclass(frozen=True)
class Measured:
    label: str
    server: str
    workers: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Server:
    """One server under load: where it listens, how a client authenticates, its paths."""

    name: str
    workers: int
    port: int
    authorization: str
    token_path: str
    jwks_path: str

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class Run:
    """The run's options and what it has measured so far."""

    seconds: float
    connections: int
    selected: set[str]
    results: dict[tuple[str, int, str], Measured]  # by server, workers, scenario
    ceiling: float = 0.0  # argon2id hashes/s, one thread per core

    def get(self, key: str, server: str = "protekt", workers: int = WORKERS) -> Measured | None:
        return self.results.get((server, workers, key))

    def wants(self, scenario: str) -> bool:
        return scenario in self.selected


# --- load generation ---------------------------------------------------------------------------


def wrk_command(url: str, script: str, args: list[str], *, seconds: float, threads: int,
                connections: int) -> list[str]:
    """The wrk command line: one of scripts/wrk/'s scripts against url, with its arguments."""
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(WRK_DIR / script), url, "--", *args]


def wrk_answer(command: list[str], done: subprocess.CompletedProcess[str]) -> dict[str, float]:
    """The JSON line that the script's done() printed (common.lua); exits when wrk failed."""
    found = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode or not found or done.stderr.strip():
        raise SystemExit(f"wrk failed ({done.returncode}): {' '.join(command)}\n"
                         f"{done.stdout}{done.stderr}")
    return json.loads(found[-1].removeprefix("BENCH "))


def wrk(run: Run, server: Server, path: str, script: str, *, args: list[str] | None = None,
        seconds: float | None = None) -> dict[str, float]:
    """One wrk run of script against path; the JSON line its done() prints."""
    seconds = run.seconds if seconds is None else seconds
    command = wrk_command(server.url(path), script, args or [], seconds=seconds,
                          threads=WRK_THREADS, connections=run.connections)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120,
                          check=False)
    return wrk_answer(command, done)


def measure(run: Run, server: Server, key: str, label: str, *, path: str, script: str,
            args: list[str] | None = None, note: Callable[[Measured], str] | None = None,
            seconds: float | None = None) -> Measured:
    """Run, keep under (server name, workers, key), and print a row of the table."""
    raw = wrk(run, server, path, script, args=args, seconds=seconds)
    result = Measured(label, server.name, server.workers, int(raw["requests"]), raw["seconds"],
                      raw["p50_ms"], raw["p99_ms"], int(raw["non_2xx"]),
                      int(raw["socket_errors"]))
    run.results[(server.name, server.workers, key)] = result
    errors = f"  ({result.socket_errors} socket errors)" if result.socket_errors else ""
    print(f"{label:<48} {server.name:<19} {server.workers:>2} {result.rps:9.1f} "
          f"{result.p50_ms:8.1f} {result.p99_ms:8.1f} {result.non_2xx:8d} "
          f"{os.getloadavg()[0]:5.1f}  "
          f"{note(result) if note else ''}{errors}", flush=True)
    return result


def form(run: Run, server: Server, key: str, label: str, *, path: str, body: str,
         note: Callable[[Measured], str] | None = None) -> Measured:
    """POST the same form each time (post_form.lua)."""
    return measure(run, server, key, label, path=path, script="post_form.lua",
                   args=[body, server.authorization], note=note)


def once_each(run: Run, server: Server, key: str, label: str, *, path: str, bodies: list[str],
              note: Callable[[Measured], str] | None = None,
              seconds: float | None = None) -> Measured:
    """POST each body once (post_lines.lua), from a file."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lines:
        lines.write("\n".join(bodies) + "\n")
    try:
        return measure(run, server, key, f"{label} ({len(bodies)} made)", path=path,
                       script="post_lines.lua", note=note, seconds=seconds,
                       args=[lines.name, server.authorization,
                             str(run.connections // WRK_THREADS), str(WRK_THREADS)])
    finally:
        os.unlink(lines.name)


def of(baseline: Measured | float | None, name: str) -> Callable[[Measured], str]:
    """A note: the rate as a share of the baseline's."""
    rate = baseline.rps if isinstance(baseline, Measured) else baseline

    def note(result: Measured) -> str:
        return f"{result.rps / rate:6.1%} of {name}" if rate else ""

    return note


# --- the servers -------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """pid and its descendants, parents first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, queue = [], [pid]
    while queue:
        tree.append(current := queue.pop(0))
        queue.extend(sorted(children.get(current, [])))
    return tree


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def memory(name: str, process: subprocess.Popen[bytes], workers: int) -> str:
    """The resident memory of the server's processes, read now. A server of one process (node)
    is its own worker; granian's main process starts the workers, its children."""
    tree = process_tree(process.pid)
    if len(tree) == 1:
        return f"  {name}, one process: {rss_mib(process.pid):.0f} MiB"
    workers_rss = [rss_mib(pid) for pid in tree[1:]]
    return (f"  {name}, {workers} worker{'s' * (workers > 1)}: "
            f"{sum(workers_rss) / len(workers_rss):.0f} MiB per worker ("
            + ", ".join(f"{rss:.0f}" for rss in workers_rss)
            + f" MiB; the main process {rss_mib(process.pid):.0f} MiB)")


def install_peer() -> str | None:
    """npm ci in scripts/peer when its modules are missing; why it can't run, or None."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node and npm are needed (apt-get install -y nodejs npm)"
    if (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return None
    print("installing node-oidc-provider: npm ci in scripts/peer", flush=True)
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR,
                          capture_output=True, text=True, timeout=600, check=False)
    return f"npm ci failed: {done.stderr[-2000:]}" if done.returncode else None


@contextmanager
def peer_server() -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {"NODE_ENV": "production", "PEER_CLIENT_ID": PEER_CLIENT[0],
           "PEER_CLIENT_SECRET": PEER_CLIENT[1]}
    basic = bench.Target(port, *PEER_CLIENT).basic
    with bench.running(["node", "provider.mjs", str(port)], env, port,
                       ready_path="/.well-known/openid-configuration", cwd=PEER_DIR) as process:
        yield Server("node-oidc-provider", 1, port, basic, "/token", "/jwks"), process


@contextmanager
def flask_floor() -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    """scripts/peer/flask_floor.py on granian: one worker, Protekt's threads. It has no JWKS."""
    port = free_port()
    env = {"FLOOR_CLIENT_ID": PEER_CLIENT[0], "FLOOR_CLIENT_SECRET": PEER_CLIENT[1]}
    command = [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "--factory",
               "--workers", "1", "--blocking-threads", str(THREADS), "--port", str(port),
               "--log-level", "error", "scripts.peer.flask_floor:create_app"]
    with bench.running(command, env, port) as process:
        yield Server(FLOOR, 1, port, bench.Target(port, *PEER_CLIENT).basic, "/token",
                     ""), process


@contextmanager
def protekt_server(env: dict[str, str], target: bench.Target,
                   workers: int) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    command = bench.server_command("granian", target.port, workers, THREADS)
    with bench.running(command, env, target.port) as process:
        yield Server("protekt", workers, target.port, target.basic, "/oauth/token",
                     "/.well-known/jwks.json"), process


def warm_up(run: Run, server: Server, cc_body: str) -> None:
    """Keys loaded, pools filled, code compiled: a second of each light request, unrecorded."""
    short = Run(1, run.connections, run.selected, {})
    wrk(short, server, server.token_path, "post_form.lua", args=[cc_body, server.authorization])
    if server.jwks_path:
        wrk(short, server, server.jwks_path, "get.lua")


# --- 1. one process each -----------------------------------------------------------------------

# With its resource server's scope, the peer's token has the claims of Protekt's: iss, sub, aud,
# client_id, scope, iat, exp (900 s), jti; typ at+jwt, RS256.
CC_BODIES = {"protekt": CC_BODY, "node-oidc-provider": CC_BODY + "&scope=read", FLOOR: CC_BODY}


def one_process_each(run: Run, env: dict[str, str], target: bench.Target) -> list[str]:
    """client_credentials and the JWKS on Protekt with one worker and on the peer, both up at
    once and measured in turns (so a change in the machine's load between them counts less);
    their memory after."""
    print("one process each", flush=True)
    why = install_peer()
    if why:
        print(f"node-oidc-provider skipped: {why}", flush=True)
    one_worker = {**env, "PROTEKT_HASH_CONCURRENCY": str(bench.CORES)}
    with ExitStack() as stack:
        servers = [stack.enter_context(protekt_server(one_worker, target, 1))]
        if not why:
            servers.append(stack.enter_context(peer_server()))
        if run.wants("client-credentials"):
            servers.append(stack.enter_context(flask_floor()))
        for server, _ in servers:
            warm_up(run, server, CC_BODIES[server.name])
        for server, _ in servers if run.wants("client-credentials") else []:
            form(run, server, "client-credentials", "POST token client_credentials",
                 path=server.token_path, body=CC_BODIES[server.name])
        for server, _ in servers if run.wants("jwks") else []:
            if server.jwks_path:
                measure(run, server, "jwks", "GET JWKS", path=server.jwks_path,
                        script="get.lua")
        return [memory(server.name, process, 1) for server, process in servers]


# --- 2. Protekt alone --------------------------------------------------------------------------


def protekt_alone(run: Run, env: dict[str, str], target: bench.Target) -> list[str]:
    """Every selected scenario on `protekt serve --workers 2`; its memory after the light
    requests, and after the run."""
    with protekt_server(env, target, WORKERS) as (server, process):
        print(f"Protekt alone, {WORKERS} workers", flush=True)
        warm_up(run, server, CC_BODY)
        health = measure(run, server, "health", "GET /health (baseline)", path="/health",
                         script="get.lua")
        light(run, server, health)
        rss = [memory("protekt serve, after the light requests", process, WORKERS)]
        if run.wants("password"):
            run.ceiling = argon2_ceiling()
            form(run, server, "password", "POST /oauth/token password", path=server.token_path,
                 body=urlencode(bench.LOGIN), note=of(run.ceiling, "argon2 ceiling"))
        if run.wants("refresh"):
            refresh(run, server, target, health)
        mfa_otp(run, server, env, target, health)
        if run.wants("mfa-oob"):
            mfa_oob(run, server, env, target)
        if run.wants("authorization-code"):
            code_exchange(run, server, target)
        return [*rss, memory("protekt serve, after the run", process, WORKERS)]


def argon2_ceiling() -> float:
    """argon2id hashes per second with the server's parameters, in this process, one thread
    per core (scripts/bench.py's measure), just before the password grant's run."""
    single, ceiling = bench.argon2_rate(1), bench.argon2_rate(bench.CORES)
    print(f"{'  argon2id m=19456,t=2,p=1, in this process':<48} {single:.1f} hashes/s on 1 thread, "
          f"{ceiling:.1f} on {bench.CORES}: the ceiling of the password grant", flush=True)
    return ceiling


def light(run: Run, server: Server, health: Measured) -> None:
    """client_credentials at full load, then paced at half of it; the JWKS."""
    if run.wants("client-credentials"):
        full = form(run, server, "client-credentials", "POST /oauth/token client_credentials",
                    path=server.token_path, body=CC_BODY, note=of(health, "/health"))
        rate = full.rps / 2
        measure(run, server, "client-credentials-half", f"  same, paced at half: {rate:.0f}/s",
                path=server.token_path, script="post_paced.lua",
                args=[CC_BODY, server.authorization, f"{rate / WRK_THREADS:.3f}"],
                note=lambda result: f"{result.rps / full.rps:6.1%} of full load")
    if run.wants("jwks"):
        measure(run, server, "jwks", "GET /.well-known/jwks.json", path=server.jwks_path,
                script="get.lua", note=of(health, "/health"))


def refresh(run: Run, server: Server, target: bench.Target, health: Measured) -> None:
    """Rotating refresh tokens, one chain per connection (refresh.lua), seeded by logins."""
    seeds = logins(target, run.connections + WRK_THREADS)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lines:
        lines.write("\n".join(seeds) + "\n")
    try:
        measure(run, server, "refresh", "POST /oauth/token refresh_token",
                path=server.token_path, script="refresh.lua",
                args=[lines.name, server.authorization], note=of(health, "/health"))
    finally:
        os.unlink(lines.name)


def logins(target: bench.Target, count: int) -> list[str]:
    """count password logins of the bench user: their refresh tokens."""
    def login(_: int) -> str:
        answer = requests.post(f"http://127.0.0.1:{target.port}/oauth/token", data=bench.LOGIN,
                               headers={"Authorization": target.basic}, timeout=30)
        answer.raise_for_status()
        return answer.json()["refresh_token"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(login, range(count)))


def mfa_otp(run: Run, server: Server, env: dict[str, str], target: bench.Target,
            health: Measured) -> None:
    """The OTP challenge on one mfa_token, then mfa-otp: each user's code once."""
    if not (run.wants("challenge") or run.wants("mfa-otp")):
        return
    count = inputs(run, "mfa-otp") if run.wants("mfa-otp") else 1
    with one_hash():
        secrets_by_email = bench.prepare_mfa(env, count)
    if run.wants("challenge"):
        ticket = bench.mfa_tokens(target, [bench.MFA_EMAIL])[0]
        form(run, server, "challenge", "POST /mfa/challenge (otp)", path="/mfa/challenge",
             body=urlencode({"mfa_token": ticket, "challenge_type": "otp"}),
             note=of(health, "/health"))
    if run.wants("mfa-otp"):
        tokens = bench.mfa_tokens(target, list(secrets_by_email))
        if 60 - time.time() % 30 < run.seconds + 5:  # the step's codes pass until the next ends
            time.sleep(30 - time.time() % 30 + 0.2)
        step = totp.time_step(time.time())
        bodies = [urlencode({"grant_type": bench.MFA_OTP, "mfa_token": token,
                             "otp": totp.hotp(totp.secret_key(secret), step)})
                  for token, secret in zip(tokens, secrets_by_email.values(), strict=True)]
        once_each(run, server, "mfa-otp", "POST /oauth/token mfa-otp", path=server.token_path,
                  bodies=bodies, note=ratio_to(run, "client-credentials", "client_credentials"),
                  seconds=min(run.seconds, 50))


def mfa_oob(run: Run, server: Server, env: dict[str, str], target: bench.Target) -> None:
    """mfa-oob: each SMS user challenged before the run, its code read from the outbox."""
    with one_hash():
        emails = bench.prepare_sms(env, inputs(run, "mfa-oob"))
    forms = bench.oob_requests(target, emails, Outbox(Path(env["PROTEKT_SMS_OUTBOX"])))
    once_each(run, server, "mfa-oob", "POST /oauth/token mfa-oob", path=server.token_path,
              bodies=[urlencode(form) for form in forms], note=ratio_to(run, "mfa-otp", "mfa-otp"))


def code_exchange(run: Run, server: Server, target: bench.Target) -> None:
    """The authorization_code exchange, on codes from /authorize with a signed-in session."""
    session = bench.signed_in(target)
    forms = bench.code_requests(session, inputs(run, "authorization-code"))
    once_each(run, server, "authorization-code", "POST /oauth/token authorization_code",
              path=server.token_path, bodies=[urlencode(form) for form in forms],
              note=ratio_to(run, "refresh", "refresh_token"))


def ratio_to(run: Run, key: str, name: str) -> Callable[[Measured], str]:
    """A note: the rate as a share of another scenario's on the same server, when it ran."""
    return of(run.get(key), name)


def inputs(run: Run, scenario: str) -> int:
    """How many single-use inputs to make: enough for --seconds at the rate expected from this
    run's refresh_token (or client_credentials) rate, within CAPS[scenario]."""
    refreshes, credentials = run.get("refresh"), run.get("client-credentials")
    expected = (refreshes.rps if refreshes else credentials.rps / 2 if credentials else 150.0)
    if scenario == "authorization-code":
        expected *= 1.5  # codes cost no argon2 to make
    return max(4 * run.connections,
               min(CAPS[scenario], math.ceil(expected * run.seconds * 1.1) + run.connections))


@contextmanager
def one_hash() -> Iterator[None]:
    """While the benchmark's users are made: each password hashed once, its hash reused (the
    server's argon2id parameters, so each login still verifies a full hash)."""
    made: dict[str, str] = {}
    original = PasswordHasher.hash

    def reused(hasher: PasswordHasher, password: str) -> str:
        if password not in made:
            made[password] = original(hasher, password)
        return made[password]

    with mock.patch.object(PasswordHasher, "hash", reused):
        yield


# --- report ------------------------------------------------------------------------------------


def ratios(run: Run) -> list[str]:
    """The figures the comparison is read from, where both sides ran."""
    got = run.get
    out: list[str] = []
    for key, label in (("client-credentials", "client_credentials"), ("jwks", "JWKS")):
        out.extend(versus_peer(run, key, label))
    credentials = got("client-credentials")
    for key, label in (("refresh", "refresh_token"), ("mfa-otp", "mfa-otp")):
        found = got(key)
        if found and credentials:
            out.append(f"  {label} / client_credentials, {WORKERS} workers: "
                       f"{found.rps / credentials.rps:.2f}")
    half = got("client-credentials-half")
    if half and credentials:
        out.append(f"  client_credentials at half load, {WORKERS} workers: {half.rps:.0f}/s "
                   f"(full {credentials.rps:.0f}/s): p50 {half.p50_ms:.1f} ms, p99 "
                   f"{half.p99_ms:.1f} ms (full load: p50 {credentials.p50_ms:.1f} ms, p99 "
                   f"{credentials.p99_ms:.1f} ms)")
    password = got("password")
    if password:
        out.append(f"  password / argon2 ceiling ({run.ceiling:.1f} hashes/s): "
                   f"{password.rps / run.ceiling:.2f}")
    return out


def versus_peer(run: Run, key: str, label: str) -> list[str]:
    mine, theirs = run.get(key, workers=1), run.get(key, "node-oidc-provider", 1)
    if not (mine and theirs):
        return []
    out = [f"  one process each, {label}: Protekt {mine.rps:.0f}/s, node-oidc-provider "
           f"{theirs.rps:.0f}/s: Protekt / peer {mine.rps / theirs.rps:.2f}"]
    floor = run.get(key, FLOOR, 1)
    if floor:
        out.append(f"    the Flask floor {floor.rps:.0f}/s: floor / peer "
                   f"{floor.rps / theirs.rps:.2f}, Protekt / floor {mine.rps / floor.rps:.2f}")
    return out


def header(run: Run) -> None:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True,
                                 check=False).stdout.split(" [")[0]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip() if shutil.which("node") else "absent"
    print(f"Protekt beside node-oidc-provider on {bench.CORES} cores: {wrk_version}, "
          f"-t{WRK_THREADS} -c{run.connections}, {run.seconds:.0f} s per scenario; node {node}; "
          f"PostgreSQL + Redis on loopback; load average {os.getloadavg()[0]:.2f} at the start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--connections", type=int, default=16, help="wrk's -c (one thread)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--skip-peer", action="store_true",
                        help="no node-oidc-provider, no one-worker Protekt")
    args = parser.parse_args()
    selected = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := selected - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    run = Run(args.seconds, args.connections, selected | {"health"}, {})
    header(run)
    print(f"\n{'scenario':<48} {'server':<19} {'w':>2} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'non-2xx':>8} {'load':>5}  beside")
    rss: list[str] = []
    with bench.database() as url:
        env = bench.server_env(url, free_port(), WORKERS)
        target = bench.prepare(env)
        if not args.skip_peer and selected & {"client-credentials", "jwks"}:
            rss += one_process_each(run, env, target)
        rss += protekt_alone(run, env, target)
    print("\nratios")
    print("\n".join(ratios(run)))
    print("\nresident memory after the runs (VmRSS)")
    print("\n".join(rss))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
