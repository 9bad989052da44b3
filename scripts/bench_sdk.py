#!/usr/bin/env python3
"""Benchmark of the SDKs' resource-server helpers (not a test: it asserts nothing).

Starts ``protekt serve`` on PostgreSQL and Redis, gets an access token for an API from it through
the Python SDK, then starts the example APIs of examples/resource-servers (Python: the Flask
decorator on Flask's threaded server; Node: ``verifyAccessToken`` on node:http) and drives each
with keep-alive clients in separate processes. Each API's ``GET /health`` (no token) is the
baseline measured in the same run for its ``GET /messages`` (token verified, scope checked) and
``GET /messages/secret`` (and ``mfa`` required, refused here with 401). In-process, the Python
verifier's checks per second are set beside PyJWT's bare ``jwt.decode`` with the key in hand.

    .venv/bin/python scripts/bench_sdk.py             # 5 s per measurement
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from bench import (
    EMAIL,
    PASSWORD,
    ROOT,
    Result,
    database,
    in_threads,
    line,
    prepare,
    running,
    server_command,
)

from protekt import AccessTokenVerifier, Protekt
from tests.support import TEST_ENCRYPTION_KEY, LocalProcess, free_port, protekt

AUDIENCE = "https://api.bench.example"
APIS = {
    "python": [sys.executable, str(ROOT / "examples/resource-servers/python/app.py")],
    "node": ["node", str(ROOT / "examples/resource-servers/node/server.mjs")],
}
PATHS = [("/health", 200), ("/messages", 200), ("/messages/secret", 401)]


@dataclass(frozen=True)
class Probe:
    """One request, sent again and again: GET path with the token, answered with expected."""

    port: int
    path: str
    token: str
    expected: int


def _client(probe: Probe, deadline: float, out: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", probe.port, timeout=30)
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("GET", probe.path, headers={"Authorization": f"Bearer {probe.token}"})
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - started) * 1000)
        if response.status != probe.expected:
            errors.append(response.status)


def _process(args: tuple[Probe, int, float]) -> tuple[list[float], int]:
    probe, threads, seconds = args
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[int] = []
    in_threads(threads, lambda _: _client(probe, deadline, latencies, errors))
    return latencies, len(errors)


def load(probe: Probe, args: argparse.Namespace) -> Result:
    """``args.connections`` keep-alive connections over two client processes."""
    shares = [args.connections // 2, args.connections - args.connections // 2]
    with multiprocessing.Pool(2) as pool:
        parts = pool.map(_process, [(probe, n, args.seconds) for n in shares])
    latencies = [ms for part, _ in parts for ms in part]
    return Result(len(latencies), args.seconds, latencies, sum(e for _, e in parts))


def per_second(work: Callable[[], object], seconds: float) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        work()
        done += 1
    return done / seconds


def in_process(issuer: str, token: str, seconds: float) -> None:
    verifier = AccessTokenVerifier(issuer, AUDIENCE)
    verifier.verify(token)  # the JWKS is fetched once, here
    key = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    bare = per_second(lambda: jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE,
                                         issuer=issuer), seconds)
    helper = per_second(lambda: verifier.verify(token, scope="read:messages"), seconds)
    print("in process, one thread")
    print(f"  {'PyJWT jwt.decode, key in hand (baseline)':<42} {bare:8.0f}/s")
    print(f"  {'AccessTokenVerifier.verify':<42} {helper:8.0f}/s  {helper / bare:.0%} of it")


def over_http(issuer: str, token: str, args: argparse.Namespace) -> None:
    for name, command in APIS.items():
        if shutil.which(command[0]) is None:
            print(f"{name}: {command[0]} missing, skipped")
            continue
        with LocalProcess(command, {"PROTEKT_ISSUER": issuer, "API_AUDIENCE": AUDIENCE}) as api:
            print(f"{name} API, {args.connections} connections")
            baseline = None
            for path, expected in PATHS:
                result = load(Probe(api.port, path, token, expected), args)
                baseline = baseline or result.rps
                ratio = f"{result.rps / baseline:.0%} of /health" if path != "/health" else ""
                print(line(f"GET {path}", result, ratio))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    with database() as url:
        env = {"PROTEKT_DATABASE_URL": url, "PROTEKT_ISSUER": f"http://127.0.0.1:{port}",
               "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
               "PROTEKT_REDIS_PREFIX": f"protekt-bench-sdk-{port}"}
        prepare(env)
        made = protekt(env, "create-client", "--name", "bench API caller", "--scopes",
                       "read:messages", "--audiences", AUDIENCE, "--json")
        client = json.loads(made.stdout)
        with running(server_command("granian", port, 2, 16), env, port):
            issuer = env["PROTEKT_ISSUER"]
            sdk = Protekt(issuer, client["client_id"], client["client_secret"],
                          audience=AUDIENCE, scope="read:messages")
            token = sdk.authentication.login({"username": EMAIL, "password": PASSWORD})
            in_process(issuer, token["access_token"], args.seconds)
            over_http(issuer, token["access_token"], args)


if __name__ == "__main__":
    main()
