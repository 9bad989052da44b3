"""The README's MFA and SMS walk-throughs, run as written against ``protekt demo``: if the docs
drift from the server, this fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.support import BIN, TotpDevice, free_port, wait_until

pytestmark = pytest.mark.e2e

SECTION = "## MFA walk-through with curl"
SMS_SECTION = "## SMS walk-through with the file outbox"


def shell_blocks(section: str) -> str:
    """The ```sh blocks of one README section, in order."""
    text = (ROOT / "README.md").read_text()
    body = text.split(section, 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", body, flags=re.DOTALL))


@contextmanager
def running_demo(redis_url: str, cwd: Path, **env: str) -> Iterator[str]:
    """`protekt demo` on a free port; yields the export lines it prints."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "protekt"), "demo", "--port", str(port)], cwd=cwd, text=True,
        env={**os.environ, "PROTEKT_REDIS_URL": redis_url, **env}, stdout=subprocess.PIPE,
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


@pytest.fixture
def demo(redis_url: str, tmp_path: Path) -> Iterator[str]:
    with running_demo(redis_url, tmp_path) as exports:
        yield exports


def run_section(section: str, exports: str, cwd: Path) -> str:
    """Run a README section's shell blocks after the demo's exports; its output, unspaced."""
    for tool in ("oathtool", "jq", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing; ./scripts/test.sh installs it")
    script = "set -euo pipefail\n" + exports + shell_blocks(section)
    result = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True,
                            text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    out = re.sub(r"\s", "", result.stdout)  # JSON spacing aside
    assert "Traceback" not in out
    return out


def test_the_demo_administrator_signs_in_to_the_dashboard(demo: str) -> None:
    """The quick start's dashboard: the printed administrator adds an app and is in."""
    exports = dict(re.findall(r"^export (\w+)=(.*)$", demo, flags=re.MULTILINE))
    base, http = f"{exports['PROTEKT']}/dashboard", requests.Session()

    def post(path: str, page: str, **form: str) -> requests.Response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf, page
        return http.post(base + path, data={"csrf_token": csrf.group(1), **form}, timeout=10)

    enroll = post("/signin", http.get(f"{base}/signin", timeout=10).text,
                  email=exports["DEMO_ADMIN"], password=exports["DEMO_ADMIN_PASSWORD"])
    key = re.search(r'<code id="secret">([A-Z2-7]+)</code>', enroll.text)
    assert enroll.url.endswith("/dashboard/signin/enroll") and key, enroll.text
    codes = post("/signin/enroll", enroll.text, code=TotpDevice(key.group(1)).next_code())
    assert "Save your recovery codes" in codes.text
    assert http.get(f"{base}/security", timeout=10).url.endswith("/dashboard/security")


def test_the_mfa_walk_through_runs_as_written(demo: str, tmp_path: Path) -> None:
    out = run_section(SECTION, demo, tmp_path)
    assert '"active":true' in out  # step 2: confirmed
    assert '"error":"mfa_required"' in out and '"mfa_token"' in out  # step 3
    assert '{"challenge_type":"otp"}' in out  # step 4
    assert '"recovery_codes_remaining":9' in out  # the recovery code
    assert '"remaining":9' in out  # the listing, after one recovery code


def test_the_sms_walk_through_runs_as_written(redis_url: str, tmp_path: Path) -> None:
    outbox = tmp_path / "protekt-sms.jsonl"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "protekt").symlink_to(BIN / "protekt")
    with running_demo(redis_url, tmp_path, PROTEKT_SMS_PROVIDER="file",
                      PROTEKT_SMS_OUTBOX=str(outbox)) as exports:
        assert f"export PROTEKT_SMS_OUTBOX={outbox}" in exports
        out = run_section(SMS_SECTION, exports, tmp_path)
    assert '"oob_channel":"sms"' in out and '"phone_number":"+1******2671"' in out  # step 1
    assert '["sms","recovery-code"]' in out  # step 2
    assert '"binding_method":"prompt","challenge_type":"oob"' in out  # step 3
    assert '"to":"+14155552671"' in out
    assert '{"token_type":"Bearer","scope":"openid"}' in out  # step 4
    assert "HTTP/1.1429" in out and "retry-after:" in out.lower()  # step 5
    assert "Waitbeforeasking" in out
    assert "SMScredits:999" in out
