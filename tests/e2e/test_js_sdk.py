"""The JavaScript SDK (sdk/js) against ``protekt serve`` (2 workers, PostgreSQL, Redis).

The server, its settings, a public SPA client and the users are made here with the CLI, as an
operator would; the journeys themselves run in Node's own test runner (sdk/js/test/*.test.js),
which gets the server's URL and the accounts through ``PROTEKT_*`` variables. SMS codes go to the
``file`` provider's outbox, which the Node tests read as the user's phone; oathtool is the user's
authenticator app.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Deployment

pytestmark = pytest.mark.e2e

SDK = Path(__file__).resolve().parents[2] / "sdk" / "js"
API_AUDIENCE = "https://api.example.org"
# One account per journey, so the Node test files may run side by side.
ROLES = ("guide", "expiry", "plain", "recovery", "api")
MFA_TOKEN_TTL = "60"  # the shortest allowed: the expired_token check waits for it
NODE_TIMEOUT = 240


def need(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} missing: {why}")
    return path


def node_modules() -> None:
    """sdk/js/node_modules from its package-lock.json, as CI's first run has none."""
    if not (SDK / "node_modules").is_dir():
        npm = need("npm", "Debian package npm installs it (./scripts/test.sh does)")
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SDK,
                                   capture_output=True, text=True, timeout=300, check=False)
        assert installed.returncode == 0, installed.stdout + installed.stderr


def spa_environment(deployment: Deployment, outbox: Path) -> dict[str, str]:
    """MFA settings, SMS credits, a public client and the users, made with the CLI (in parallel:
    each command is a process of its own)."""
    users = {role: f"js-{role}@example.org" for role in ROLES}
    commands = [
        ("create-client", "--name", "SPA", "--public", "--scopes", "read:messages",
         "--audiences", API_AUDIENCE, "--json"),
        ("mfa", "settings", "--enable", "--factors", "otp,sms,recovery-code",
         "--mfa-token-ttl", MFA_TOKEN_TTL),
        ("sms", "credits", "--add", "100"),
        *(("create-user", "--email", email, "--password", PASSWORD) for email in users.values()),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        made, *_ = pool.map(lambda args: deployment.cli(*args), commands)
    return {
        "PROTEKT_URL": deployment.url,
        "PROTEKT_CLIENT_ID": json.loads(made.stdout)["client_id"],
        "PROTEKT_USERS": json.dumps(users),
        "PROTEKT_PASSWORD": PASSWORD,
        "PROTEKT_OUTBOX": str(outbox),
        "PROTEKT_API_AUDIENCE": API_AUDIENCE,
        "PROTEKT_MFA_TOKEN_TTL": MFA_TOKEN_TTL,
    }


def test_the_javascript_sdk_passes_its_node_tests_against_a_live_server(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    node = need("node", "Debian package nodejs installs it (./scripts/test.sh does)")
    need("oathtool", "Debian package oathtool installs it (./scripts/test.sh does)")
    node_modules()
    outbox = tmp_path / "outbox.jsonl"
    deployment = make_deployment(PROTEKT_SMS_PROVIDER="file", PROTEKT_SMS_OUTBOX=str(outbox))
    env = {**os.environ, **spa_environment(deployment, outbox)}
    files = sorted(str(path) for path in (SDK / "test").glob("*.test.js"))
    run = subprocess.run([node, "--test", *files], cwd=SDK, env=env, capture_output=True,
                         text=True, timeout=NODE_TIMEOUT, check=False)
    assert run.returncode == 0, f"node --test failed:\n{run.stdout}\n{run.stderr}"
    assert re.search(r"^# pass [1-9]", run.stdout, re.MULTILINE), run.stdout  # tests did run
