"""The README's MFA walk-through, run as written against ``protekt demo``: if the docs drift
from the server, this fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support import BIN, free_port, wait_until

pytestmark = pytest.mark.e2e

SECTION = "## MFA walk-through with curl"


def shell_blocks(section: str) -> str:
    """The ```sh blocks of one README section, in order."""
    text = (ROOT / "README.md").read_text()
    body = text.split(section, 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", body, flags=re.DOTALL))


@pytest.fixture
def demo(redis_url: str, tmp_path: Path) -> Iterator[str]:
    """`protekt demo` on a free port; yields the export lines it prints."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "protekt"), "demo", "--port", str(port)], cwd=tmp_path, text=True,
        env={**os.environ, "PROTEKT_REDIS_URL": redis_url}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    exports = []
    for line in process.stdout:
        if line.startswith("export "):
            exports.append(line)
        if line.startswith("export PROTEKT_ENCRYPTION_KEY="):
            break
    try:
        wait_until(lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/health"],
                                          capture_output=True, check=False).returncode == 0,
                   timeout=30)
        yield "".join(exports)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_mfa_walk_through_runs_as_written(demo: str, tmp_path: Path) -> None:
    for tool in ("oathtool", "jq", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing; ./scripts/test.sh installs it")
    script = "set -euo pipefail\n" + demo + shell_blocks(SECTION)
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    out = re.sub(r"\s", "", result.stdout)  # JSON spacing aside
    assert '"active":true' in out  # step 2: confirmed
    assert '"error":"mfa_required"' in out and '"mfa_token"' in out  # step 3
    assert '{"challenge_type":"otp"}' in out  # step 4
    assert '"recovery_codes_remaining":9' in out  # the recovery code
    assert '"remaining":9' in out  # the listing, after one recovery code
    assert "Traceback" not in out
