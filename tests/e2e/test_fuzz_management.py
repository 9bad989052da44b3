"""Schemathesis drives the management API from its own OpenAPI document, against ``protekt
serve`` on PostgreSQL: generated requests, valid and invalid, and sequences of calls. It fails on
any 5xx, on an answer that is not what the document says (status, body), on a schema-valid request
refused or a schema-violating one accepted, except for the rules the document cannot state, each
allowed with its reason in tests/fuzz/schemathesis.toml.

The run is bounded (PROTEKT_FUZZ_SECONDS, 60 by default) and reproducible (PROTEKT_FUZZ_SEED, a
fixed seed by default, so the suite stays deterministic). For a wider hunt, with a new seed each
time: ``PROTEKT_FUZZ_SEED=random PROTEKT_FUZZ_SECONDS=600 ./scripts/test.sh
tests/e2e/test_fuzz_management.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Deployment

CONFIG = Path(__file__).resolve().parent.parent / "fuzz" / "schemathesis.toml"
SCOPES = ("read:settings update:settings read:sms_credits update:sms_credits read:users "
          "create:users update:users delete:users delete:authenticators read:clients "
          "create:clients update:clients delete:clients read:audit")
DEFAULT_SEED = "20261204"


def operator_token(deployment: Deployment) -> str:
    audience = f"{deployment.url}/api/v2/"
    made = deployment.cli("create-client", "--name", "Fuzzer", "--grant-types",
                          "client_credentials", "--scopes", SCOPES, "--audiences", audience,
                          "--json")
    ops = json.loads(made.stdout)
    answer = requests.post(f"{deployment.url}/oauth/token", timeout=30,
                           auth=(ops["client_id"], ops["client_secret"]),
                           data={"grant_type": "client_credentials", "scope": SCOPES,
                                 "audience": audience})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_management_api_does_what_its_document_says(deployment: Deployment) -> None:
    seed = os.environ.get("PROTEKT_FUZZ_SEED", DEFAULT_SEED)
    seconds = os.environ.get("PROTEKT_FUZZ_SECONDS", "60")
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(CONFIG),
               "--no-color", "run", f"{deployment.url}/api/v2/openapi.json",
               "-H", f"Authorization: Bearer {operator_token(deployment)}",
               "--max-time", seconds, "--request-timeout", "10", "--max-examples", "30",
               *([] if seed == "random" else ["--seed", seed])]
    run = subprocess.run(command, capture_output=True, text=True, timeout=int(seconds) + 240,
                         check=False)
    if run.returncode != 0:
        pytest.fail(f"schemathesis found failures (exit {run.returncode}):\n"
                    f"{run.stdout[-20000:]}\n{run.stderr[-4000:]}")
