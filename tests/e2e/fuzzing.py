"""Runs schemathesis (its ``st`` command) against a live server's OpenAPI document: generated
requests, valid and invalid. It fails on any 5xx, on an answer the document does not declare
(status, headers, body), on a schema-valid request refused or a schema-violating one accepted,
except for the rules a document cannot state, each allowed with its reason in the run's
configuration under tests/fuzz/.

A run is bounded (PROTEKT_FUZZ_SECONDS, 60 by default) and reproducible (PROTEKT_FUZZ_SEED, a
fixed seed by default, so the suite stays deterministic). For a wider hunt, with a new seed each
time::

    PROTEKT_FUZZ_SEED=random PROTEKT_FUZZ_SECONDS=600 ./scripts/test.sh tests/e2e/test_fuzz_api.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parent.parent / "fuzz"
DEFAULT_SEED = "20261204"


def fuzz(document_url: str, config: str, *, headers: tuple[str, ...] = (),
         env: dict[str, str] | None = None) -> None:
    """Run schemathesis on the document at document_url with tests/fuzz/<config>; fail the
    test with its report when it finds anything."""
    seed = os.environ.get("PROTEKT_FUZZ_SEED", DEFAULT_SEED)
    seconds = os.environ.get("PROTEKT_FUZZ_SECONDS", "60")
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(CONFIGS / config),
               "--no-color", "run", document_url,
               *(option for header in headers for option in ("-H", header)),
               "--max-time", seconds, "--request-timeout", "10", "--max-examples", "30",
               *([] if seed == "random" else ["--seed", seed])]
    run = subprocess.run(command, capture_output=True, text=True, timeout=int(seconds) + 240,
                         check=False, env={**os.environ, **(env or {})})
    if run.returncode != 0:
        pytest.fail(f"schemathesis found failures (exit {run.returncode}):\n"
                    f"{run.stdout[-20000:]}\n{run.stderr[-4000:]}")
