#!/usr/bin/env python3
"""Benchmark of the production server on loopback (not a test: it asserts nothing).

Starts ``protekt serve`` (granian; or gunicorn's gthread worker, to compare the two) with
PostgreSQL and Redis, drives it with concurrent keep-alive clients in separate processes, and
prints requests/s and p50/p99 latency for the password, refresh-token and client-credentials
grants, the JWKS, and the MFA login (the password step answering ``mfa_required``, the challenge,
the mfa-otp grant exchanging a fresh code per user, the mfa-webauthn grant verifying a passkey's
signed assertion per user (tests/softkey.py signs); and over SMS, with the ``file`` provider,
the challenge that sends a code and the mfa-oob grant), and the browser sign-in (``GET /authorize``
answered with a code from the sign-in session, and the authorization_code exchange) -- beside
baselines measured in the same run: argon2id hashes per second (one thread, and one per core,
which shows the GIL is released) and a trivial endpoint of the same server (``GET /health``).

    .venv/bin/python scripts/bench.py                   # protekt serve, 10 s per scenario
    .venv/bin/python scripts/bench.py --server both     # then gunicorn (pip install -e .[bench])
    .venv/bin/python scripts/bench.py --mfa-only        # /health, refresh and the MFA login
    .venv/bin/python scripts/bench.py --policies        # the password grant, plain and adaptive

The login limits and the SMS send limits are raised for the run (the wrong-password scenario would
trip the first at once, a few hundred SMS from one address the second); everything else uses the
defaults, argon2id m=19 MiB, t=2, p=1 included.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

import argon2
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authserver import create_app  # noqa: E402
from authserver.config import Settings  # noqa: E402
from authserver.extensions import db, services  # noqa: E402
from authserver.mfa import totp  # noqa: E402
from authserver.mfa.risk import LoginContext  # noqa: E402
from authserver.models.base import new_id  # noqa: E402
from authserver.sms import phone  # noqa: E402
from tests.softkey import SoftKey  # noqa: E402
from tests.support import (  # noqa: E402
    TEST_ENCRYPTION_KEY,
    Outbox,
    free_port,
    protekt,
    wait_until,
)

POSTGRES_URL = os.environ.get(
    "PROTEKT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PROTEKT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EMAIL, PASSWORD = "bench@example.org", "correct horse battery staple"
MFA_EMAIL = "bench-mfa@example.org"
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


# --- load generation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    port: int
    client_id: str
    client_secret: str
    prepared: list[dict[str, str]] = field(default_factory=list)
    cookie: str = ""  # a signed-in dashboard session, for the dashboard pages

    @property
    def basic(self) -> str:
        return "Basic " + b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()


LOGIN = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
MFA_OTP = "http://protekt.dev/oauth/grant-type/mfa-otp"
MFA_OOB = "http://protekt.dev/oauth/grant-type/mfa-oob"
MFA_WEBAUTHN = "http://protekt.dev/oauth/grant-type/mfa-webauthn"
PREPARED = {"challenge": "/mfa/challenge", "mfa-otp": "/oauth/token",
            "sms-challenge": "/mfa/challenge", "mfa-oob": "/oauth/token",
            "mfa-webauthn": "/oauth/token"}
FIXED_REQUESTS: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "health": ("GET", "/health", None),
    "metrics": ("GET", "/metrics", None),
    "dashboard-monitoring": ("GET", "/dashboard/monitoring", None),
    "dashboard-security": ("GET", "/dashboard/security", None),
    "jwks": ("GET", "/.well-known/jwks.json", None),
    "password": ("POST", "/oauth/token", LOGIN),
    "wrong-password": ("POST", "/oauth/token", {**LOGIN, "password": "wrong password"}),
    "unknown-user": ("POST", "/oauth/token", {**LOGIN, "username": "nobody@example.org"}),
    "client-credentials": ("POST", "/oauth/token", {"grant_type": "client_credentials"}),
    "mfa-password": ("POST", "/oauth/token", {**LOGIN, "username": MFA_EMAIL}),
    # an adaptive application's login from the user's known device and network: scored, low
    "password-adaptive": ("POST", "/oauth/token", {**LOGIN, "device_id": "bench-laptop"}),
}
EXPECTED_STATUS = {"wrong-password": 400, "unknown-user": 400, "mfa-password": 403}
CALLBACK = "http://127.0.0.1:9/callback"  # never called: the benchmark reads the Location
VERIFIER = "bench-pkce-verifier-" + "0" * 40
AUTHORIZE = "/authorize?client_id={client_id}&" + urlencode({
    "response_type": "code", "redirect_uri": CALLBACK,
    "scope": "openid", "state": "bench", "nonce": "bench", "code_challenge_method": "S256",
    "code_challenge": base64.urlsafe_b64encode(
        hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode(),
})
PREPARED["authorization-code"] = "/oauth/token"
FIXED_REQUESTS["authorize"] = ("GET", AUTHORIZE, None)
EXPECTED_STATUS["authorize"] = 302
CODES = 6000  # codes made (unmeasured) for the exchange
MFA_USERS = 600  # each user's authenticator accepts one code per 30-second step
SMS_USERS = 300  # each phone takes one code per cool-down


def _send(conn: http.client.HTTPConnection, target: Target, method: str, path: str,
          form: dict[str, str] | None) -> tuple[int, bytes]:
    headers = {"Authorization": target.basic}
    if target.cookie:
        headers["Cookie"] = target.cookie
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _client_thread(scenario: str, target: Target, stop: Callable[[int], bool],
                   out: list[float], errors: list[int]) -> None:
    """One keep-alive connection; a refresh chain of its own follows each rotated token;
    prepared requests (target.prepared) are taken from a shared list until none are left."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    refresh_token = ""
    if scenario == "refresh":
        refresh_token = json.loads(_send(conn, target, "POST", "/oauth/token", LOGIN)[1])[
            "refresh_token"]
    sent = 0
    while not stop(sent):
        if scenario in PREPARED:
            try:
                path, form = PREPARED[scenario], target.prepared.pop()
            except IndexError:
                return
            method = "POST"
        else:
            method, path, form = FIXED_REQUESTS.get(scenario) or (
                "POST", "/oauth/token",
                {"grant_type": "refresh_token", "refresh_token": refresh_token})
            path = path.replace("{client_id}", target.client_id)
        started = time.perf_counter()
        status, body = _send(conn, target, method, path, form)
        out.append((time.perf_counter() - started) * 1000)
        sent += 1
        if status != EXPECTED_STATUS.get(scenario, 200):
            errors.append(status)
        elif scenario == "refresh":
            refresh_token = json.loads(body)["refresh_token"]


def _load_process(args: tuple[str, Target, int, float, int | None]) -> tuple[list[float], int]:
    scenario, target, threads, seconds, limit = args
    deadline = time.perf_counter() + seconds

    def stop(sent: int) -> bool:
        return time.perf_counter() >= deadline or (limit is not None and sent >= limit)

    latencies: list[float] = []
    errors: list[int] = []
    in_threads(threads, lambda _: _client_thread(scenario, target, stop, latencies, errors))
    return latencies, len(errors)


def in_threads(count: int, work: Callable[[int], object]) -> None:
    """Run work(0) ... work(count - 1) in threads of their own, and wait for all of them."""
    workers = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def drive(scenario: str, target: Target, concurrency: int, seconds: float,
          limit: int | None = None) -> Result:
    """Run scenario with `concurrency` connections spread over one process per core, for
    `seconds`, until each connection has sent `limit` requests, or until the prepared requests
    are used up."""
    processes = min(CORES, concurrency)
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    targets = [replace(target, prepared=target.prepared[i::processes]) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.Pool(processes) as pool:
        parts = pool.map(_load_process, [(scenario, targets[i], n, seconds, limit)
                                         for i, n in enumerate(shares)])
    elapsed = time.perf_counter() - started
    latencies = [ms for part, _ in parts for ms in part]
    return Result(len(latencies), min(elapsed, seconds + 0.5), latencies, sum(e for _, e in parts))


# --- baselines ---------------------------------------------------------------------------------


def argon2_rate(threads: int, seconds: float = 3.0) -> float:
    """argon2id hashes per second with the server's default parameters."""
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            hasher.hash(PASSWORD)
            counts[index] += 1

    in_threads(threads, work)
    return sum(counts) / seconds


# --- the server under test ---------------------------------------------------------------------


@contextmanager
def database(url: str = POSTGRES_URL) -> Iterator[str]:
    """A fresh schema of its own in the PostgreSQL database at ``url``; dropped after."""
    schema = f"protekt_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def prepare(env: dict[str, str]) -> Target:
    for args in (("db", "upgrade"), ("create-user", "--email", EMAIL, "--password", PASSWORD)):
        result = protekt(env, *args)
        if result.returncode:
            raise SystemExit(result.stderr)
    made = protekt(env, "create-client", "--name", "bench", "--json", "--grant-types",
                   "password,refresh_token,client_credentials,mfa-otp,mfa-oob,mfa-webauthn,"
                   "authorization_code", "--redirect-uri", CALLBACK)
    client = json.loads(made.stdout)
    return Target(int(env["PROTEKT_ISSUER"].rsplit(":", 1)[1]), client["client_id"],
                  client["client_secret"])


def prepare_mfa(env: dict[str, str], count: int = MFA_USERS) -> dict[str, str]:
    """`count` users with an active authenticator app each (made through the domain modules,
    as an operator's script would); returns each user's TOTP secret by email."""
    app = create_app(Settings.from_env({**os.environ, **env}))
    secrets_by_email: dict[str, str] = {}
    with app.app_context():
        for index in range(count):
            email = MFA_EMAIL if index == 0 else f"bench-mfa-{index}@example.org"
            user = services.administration.create(email, PASSWORD)
            authenticator, secret = services.mfa.authenticators.add_otp(user.id, "bench")
            services.mfa.authenticators.activate(authenticator)
            db.session.commit()
            secrets_by_email[email] = secret
        db.engine.dispose()
    return secrets_by_email


def prepare_passkeys(env: dict[str, str], count: int = MFA_USERS) -> dict[str, SoftKey]:
    """`count` users with an active passkey each, its credential stored as an enrollment
    would; returns each user's software authenticator by email."""
    app = create_app(Settings.from_env({**os.environ, **env}))
    issuer = env["PROTEKT_ISSUER"]
    keys: dict[str, SoftKey] = {}
    with app.app_context():
        for index in range(count):
            email = f"bench-passkey-{index}@example.org"
            user = services.administration.create(email, PASSWORD)
            key = SoftKey(rp_id="127.0.0.1", origin=issuer, user_handle=user.id.encode())
            passkey = services.mfa.authenticators.add_passkey(user.id, "webauthn-platform",
                                                              "bench")
            passkey.credential_id, passkey.public_key = key.credential_id, key.cose_key()
            passkey.sign_count, passkey.backup_eligible, passkey.backed_up = 0, False, False
            services.mfa.authenticators.activate(passkey)
            db.session.commit()
            keys[email] = key
        db.engine.dispose()
    return keys


def prepare_adaptive(env: dict[str, str], target: Target) -> Target:
    """A second client whose MFA rule is adaptive, and EMAIL's laptop and loopback network
    known to it (as after a completed login), so its logins score low and get tokens."""
    app = create_app(Settings.from_env({**os.environ, **env}))
    with app.app_context():
        client, secret = services.flows.client_administration.create(
            "bench adaptive", grant_types=["password", "refresh_token"], mfa_policy="adaptive")
        user = services.users.find_by_email(EMAIL)
        assert user is not None and secret is not None
        services.mfa.policy.remember(user.id, client, LoginContext("127.0.0.1", "bench-laptop"))
        db.session.commit()
        db.engine.dispose()
    return replace(target, client_id=client.client_id, client_secret=secret)


def print_policies(target: Target, adaptive: Target, args: argparse.Namespace,
                   hashes: float) -> None:
    """The password grant at a plain application and at an adaptive one (the risk assessed:
    known contexts, recent failures, the common-password list, the audit row), same run."""
    plain = drive("password", target, args.concurrency, args.seconds)
    print(line("POST /oauth/token password (inherit)", plain,
               f"{plain.rps / hashes:6.1%} of argon2 ceiling"))
    scored = drive("password-adaptive", adaptive, args.concurrency, args.seconds)
    print(line("POST /oauth/token password (adaptive)", scored,
               f"{scored.rps / plain.rps:6.1%} of inherit, p50 "
               f"{scored.percentile(50) - plain.percentile(50):+.1f} ms"))


def prepare_sms(env: dict[str, str], count: int = SMS_USERS) -> list[str]:
    """`count` users with a phone each, credits for them all, and send limits that let one
    address send them a code each; returns their emails."""
    app = create_app(Settings.from_env({**os.environ, **env}))
    emails = [f"bench-sms-{index}@example.org" for index in range(count)]
    with app.app_context():
        for index, email in enumerate(emails):
            user = services.administration.create(email, PASSWORD)
            number = phone.parse(f"+1415555{2000 + index}")
            services.mfa.authenticators.add_sms(new_id(), user.id, "bench", number, active=True)
            db.session.commit()
        services.flows.security_settings.update(sms_resend_cooldown=1, sms_ip_hourly=100_000,
                                     sms_phone_hourly=1000, sms_user_hourly=1000)
        services.flows.security_settings.top_up(100_000)
        db.engine.dispose()
    return emails


def mfa_tokens(target: Target, emails: list[str]) -> list[str]:
    """One password login per email, 16 at a time: the mfa_token of each."""
    def login(email: str) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        status, body = _send(conn, target, "POST", "/oauth/token", {**LOGIN, "username": email})
        if status != 403:
            raise SystemExit(f"expected mfa_required for {email}, got {status}: {body[:200]!r}")
        return json.loads(body)["mfa_token"]

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(login, emails))


def otp_requests(target: Target, secrets_by_email: dict[str, str]) -> list[dict[str, str]]:
    """An mfa-otp grant request per user, with a code of a step that has just begun."""
    tokens = mfa_tokens(target, list(secrets_by_email))
    time.sleep(30 - time.time() % 30 + 0.2)  # a whole step ahead, and one more of drift
    step = totp.time_step(time.time())
    return [{"grant_type": MFA_OTP, "mfa_token": token,
             "otp": totp.hotp(totp.secret_key(secret), step)}
            for token, secret in zip(tokens, secrets_by_email.values(), strict=True)]


def webauthn_requests(target: Target, keys: dict[str, SoftKey]) -> list[dict[str, str]]:
    """An mfa-webauthn grant request per user: a webauthn challenge (unmeasured) on a fresh
    mfa_token, and the passkey's assertion over it."""
    def answer(pair: tuple[str, SoftKey]) -> dict[str, str]:
        token, key = pair
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        status, body = _send(conn, target, "POST", "/mfa/challenge",
                             {"mfa_token": token, "challenge_type": "webauthn"})
        if status != 200:
            raise SystemExit(f"expected a webauthn challenge, got {status}: {body[:200]!r}")
        return {"grant_type": MFA_WEBAUTHN, "mfa_token": token,
                "credential": json.dumps(key.assert_(json.loads(body)["options"]))}

    tokens = mfa_tokens(target, list(keys))
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(answer, zip(tokens, keys.values(), strict=True)))


def sms_challenges(target: Target, emails: list[str]) -> list[dict[str, str]]:
    """A challenge request per user, on a fresh mfa_token."""
    return [{"mfa_token": token, "challenge_type": "sms"}
            for token in mfa_tokens(target, emails)]


def oob_requests(target: Target, emails: list[str], outbox: Outbox) -> list[dict[str, str]]:
    """An mfa-oob grant request per user: challenged (unmeasured), the code read from the outbox."""
    def challenge(form: dict[str, str]) -> dict[str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        status, body = _send(conn, target, "POST", "/mfa/challenge", form)
        if status != 200:
            raise SystemExit(f"SMS challenge failed: {status} {body[:200]!r}")
        return {**form, "oob_code": json.loads(body)["oob_code"]}

    time.sleep(1.1)  # the cool-down set by prepare_sms
    with ThreadPoolExecutor(16) as pool:
        challenged = list(pool.map(challenge, sms_challenges(target, emails)))
    code_of = {m["to"]: m["code"] for m in outbox.messages()}  # the last code of each phone
    return [{"grant_type": MFA_OOB, "mfa_token": form["mfa_token"], "oob_code": form["oob_code"],
             "binding_code": code_of[f"+1415555{2000 + index}"]}
            for index, form in enumerate(challenged)]


def signed_in(target: Target) -> Target:
    """The target with a sign-in session: the bench user signed in once on the hosted pages."""
    base = f"http://127.0.0.1:{target.port}"
    with requests.Session() as browser:
        page = browser.get(base + AUTHORIZE.replace("{client_id}", target.client_id), timeout=30)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if csrf is None:
            raise SystemExit(f"no sign-in page: {page.status_code} {page.text[:200]}")
        browser.post(base + "/signin", allow_redirects=False, timeout=30, data={
            "csrf_token": csrf.group(1), "email": EMAIL, "password": PASSWORD})
        done = browser.get(base + "/authorize/resume", allow_redirects=False, timeout=30)
        if not done.headers.get("Location", "").startswith(CALLBACK):
            raise SystemExit(f"sign-in failed: {done.status_code} {done.text[:200]}")
        return replace(target, cookie=f"protekt-session={browser.cookies['protekt-session']}")


def code_requests(target: Target, count: int) -> list[dict[str, str]]:
    """An authorization_code exchange per code, the codes got from /authorize, 16 at a time."""
    path = AUTHORIZE.replace("{client_id}", target.client_id)

    def code(_: int) -> dict[str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        conn.request("GET", path, headers={"Cookie": target.cookie})
        response = conn.getresponse()
        response.read()
        found = re.search(r"[?&]code=([^&]+)", response.getheader("Location") or "")
        if found is None:
            raise SystemExit(f"no code: {response.status}")
        return {"grant_type": "authorization_code", "code": found.group(1),
                "redirect_uri": CALLBACK, "code_verifier": VERIFIER}

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(code, range(count)))


def server_command(server: str, port: int, workers: int, threads: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if server == "granian":
        return [str(bin_dir / "protekt"), "serve", "--port", str(port), "--workers",
                str(workers), "--threads", str(threads)]
    return [str(bin_dir / "gunicorn"), "--worker-class", "gthread", "--bind",
            f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
            "--no-control-socket", "authserver.wsgi:app"]


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, ready_path: str = "/health",
            cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    """The server that `command` starts, once GET ready_path answers 200; stopped after."""
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=cwd)

    def ready() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", ready_path)
            return conn.getresponse().status == 200
        except OSError:
            return False

    try:
        wait_until(ready, timeout=30, interval=0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- report ------------------------------------------------------------------------------------

THROUGHPUT: list[tuple[str, str]] = [
    ("password", "POST /oauth/token password"),
    ("refresh", "POST /oauth/token refresh_token"),
    ("client-credentials", "POST /oauth/token client_credentials"),
    ("jwks", "GET /.well-known/jwks.json"),
]
TIMING_SAMPLES = 90  # below the 100 consecutive failures that lock an account


def line(label: str, result: Result, ratio: str = "") -> str:
    errors = f"  ({result.errors} unexpected answers)" if result.errors else ""
    return (f"  {label:<42} {result.rps:8.1f}/s  p50 {result.percentile(50):7.1f} ms  "
            f"p99 {result.percentile(99):7.1f} ms  {ratio}{errors}")


def server_env(url: str, port: int, workers: int) -> dict[str, str]:
    """The server's settings for a run: the database at url, Redis, raised login limits, the
    hashers' share of the cores, SMS through the file provider."""
    return {
        "PROTEKT_DATABASE_URL": url, "PROTEKT_REDIS_URL": REDIS_URL,
        "PROTEKT_REDIS_PREFIX": f"protekt-bench-{secrets.token_hex(4)}",
        "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "PROTEKT_ISSUER": f"http://127.0.0.1:{port}",
        "PROTEKT_LOGIN_ACCOUNT_FAILURES": "1000", "PROTEKT_LOGIN_IP_FAILURES": "1000",
        "PROTEKT_HASH_CONCURRENCY": str(max(1, CORES // workers)),
        "PROTEKT_AUTHORIZATION_CODE_TTL": "600",  # the codes are made before the run
        "PROTEKT_SMS_PROVIDER": "file",
        "PROTEKT_SMS_OUTBOX": str(Path(tempfile.mkdtemp()) / "outbox.jsonl"),
    }


def bench_server(server: str, args: argparse.Namespace, hashes: float) -> None:
    with database() as url:
        port = free_port()
        env = server_env(url, port, args.workers)
        target = prepare(env)
        mfa_secrets = prepare_mfa(env)
        passkeys = prepare_passkeys(env)
        sms_emails = prepare_sms(env)
        print(f"\n{server}: {args.workers} workers x {args.threads} threads, "
              f"{args.concurrency} connections, {args.seconds:.0f} s per scenario")
        with running(server_command(server, port, args.workers, args.threads), env, port):
            drive("health", target, 2, 1.0)  # warm-up: keys loaded, pools filled
            health = drive("health", target, args.concurrency, args.seconds)
            print(line("GET /health (trivial endpoint: baseline)", health))
            if args.policies:
                print_policies(target, prepare_adaptive(env, target), args, hashes)
                return
            if args.mfa_only:
                refresh = drive("refresh", target, args.concurrency, args.seconds)
                print(line("POST /oauth/token refresh_token", refresh))
                print_mfa(target, args, mfa_secrets, passkeys, hashes=hashes, health=health,
                          refresh=refresh)
                return
            results = {name: drive(name, target, args.concurrency, args.seconds)
                       for name, _ in THROUGHPUT}
            for name, label in THROUGHPUT:
                baseline, of = (hashes, "argon2 ceiling") if name == "password" else (
                    health.rps, "/health")
                print(line(label, results[name], f"{results[name].rps / baseline:6.1%} of {of}"))
            idle = drive("jwks", target, 2, args.seconds)
            print(line("GET /.well-known/jwks.json, 2 connections", idle))
            loaded = under_load(target, args)
            print(line("  same, during a password-login storm", loaded,
                       f"p50 {loaded.percentile(50) / idle.percentile(50):.1f}x idle"))
            otp = print_mfa(target, args, mfa_secrets, passkeys, hashes=hashes, health=health,
                            refresh=results["refresh"])
            print_sms(target, args, sms_emails, Outbox(Path(env["PROTEKT_SMS_OUTBOX"])), otp)
            print_browser_sign_in(target, args, health=health, refresh=results["refresh"])
            print_timing(target)


def print_mfa(target: Target, args: argparse.Namespace, mfa_secrets: dict[str, str],
              passkeys: dict[str, SoftKey], *, hashes: float, health: Result,
              refresh: Result) -> tuple[Result, Result]:
    """The MFA login: the password step, the challenge, the exchange of a fresh code, and of a
    passkey's assertion; returns the otp challenge and exchange results, the baselines of the
    SMS ones."""
    required = drive("mfa-password", target, args.concurrency, args.seconds)
    print(line("POST /oauth/token password -> mfa_required", required,
               f"{required.rps / hashes:6.1%} of argon2 ceiling"))
    ticket = mfa_tokens(target, [MFA_EMAIL])[0]
    challenge_form = {"mfa_token": ticket, "challenge_type": "otp"}
    challenges = drive("challenge", replace(target, prepared=[challenge_form] * 200_000),
                       args.concurrency, args.seconds)
    print(line("POST /mfa/challenge (otp)", challenges,
               f"{challenges.rps / health.rps:6.1%} of /health"))
    exchanges = drive("mfa-otp", replace(target, prepared=otp_requests(target, mfa_secrets)),
                      args.concurrency, 60)
    print(line(f"POST /oauth/token mfa-otp ({len(mfa_secrets)} users)", exchanges,
               f"{exchanges.rps / refresh.rps:6.1%} of refresh_token"))
    assertions = drive("mfa-webauthn",
                       replace(target, prepared=webauthn_requests(target, passkeys)),
                       args.concurrency, 60)
    print(line(f"POST /oauth/token mfa-webauthn ({len(passkeys)} users)", assertions,
               f"{assertions.rps / exchanges.rps:6.1%} of mfa-otp"))
    return challenges, exchanges


def print_sms(target: Target, args: argparse.Namespace, emails: list[str], outbox: Outbox,
              otp: tuple[Result, Result]) -> None:
    """The SMS step: a challenge that sends (limits, credits, the file provider, the audit),
    and the mfa-oob exchange, each user once."""
    sent = drive("sms-challenge", replace(target, prepared=sms_challenges(target, emails)),
                 args.concurrency, 60)
    print(line(f"POST /mfa/challenge (sms, {len(emails)} users)", sent,
               f"{sent.rps / otp[0].rps:6.1%} of otp challenge"))
    exchanges = drive("mfa-oob", replace(target, prepared=oob_requests(target, emails, outbox)),
                      args.concurrency, 60)
    print(line(f"POST /oauth/token mfa-oob ({len(emails)} users)", exchanges,
               f"{exchanges.rps / otp[1].rps:6.1%} of mfa-otp"))


def print_browser_sign_in(target: Target, args: argparse.Namespace, *, health: Result,
                          refresh: Result) -> None:
    """The code flow's two server steps once the user has a sign-in session: /authorize
    answering with a code at once, and the exchange of a code for tokens."""
    session = signed_in(target)
    redirects = drive("authorize", session, args.concurrency, args.seconds)
    print(line("GET /authorize, signed in (302 with a code)", redirects,
               f"{redirects.rps / health.rps:6.1%} of /health"))
    exchanges = drive("authorization-code",
                      replace(session, prepared=code_requests(session, CODES)),
                      args.concurrency, args.seconds)
    print(line("POST /oauth/token authorization_code", exchanges,
               f"{exchanges.rps / refresh.rps:6.1%} of refresh_token"))


def print_timing(target: Target) -> None:
    """Unknown user vs wrong password, one at a time: the answers should take the same time."""
    wrong = drive("wrong-password", target, 1, 120, limit=TIMING_SAMPLES)
    unknown = drive("unknown-user", target, 1, 120, limit=TIMING_SAMPLES)
    print(f"  timing, {TIMING_SAMPLES} sequential attempts each:")
    print(line("  wrong password", wrong))
    print(line("  unknown user", unknown,
               f"p50 ratio {unknown.percentile(50) / wrong.percentile(50):.2f}"))


def under_load(target: Target, args: argparse.Namespace) -> Result:
    """JWKS latency while password logins saturate the hashers: does hashing block others?"""
    background = multiprocessing.Process(
        target=drive, args=("password", target, args.concurrency, args.seconds + 1))
    background.start()
    time.sleep(0.5)
    result = drive("jwks", target, 2, args.seconds)
    background.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["granian", "gunicorn", "both"], default="granian",
                        help="granian is what `protekt serve` runs")
    parser.add_argument("--workers", type=int, default=CORES)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mfa-only", action="store_true",
                        help="only /health, refresh_token and the MFA login's steps")
    parser.add_argument("--policies", action="store_true",
                        help="only /health and the password grant, plain and adaptive")
    args = parser.parse_args()

    print(f"Protekt benchmark on {CORES} cores, PostgreSQL + Redis on loopback")
    single, per_core = argon2_rate(1), argon2_rate(CORES)
    print("baseline")
    print(f"  argon2id m=19456,t=2,p=1, 1 thread          {single:8.1f} hashes/s")
    print(f"  argon2id, {CORES} threads                         {per_core:8.1f} hashes/s"
          f"  ({per_core / single:.2f}x: the GIL is released while hashing)")
    servers = ["granian", "gunicorn"] if args.server == "both" else [args.server]
    for server in servers:
        bench_server(server, args, per_core)


if __name__ == "__main__":
    main()
