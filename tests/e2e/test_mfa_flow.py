"""The guide's MFA flow against ``protekt serve`` (2 workers, PostgreSQL, Redis): oathtool as
the user's authenticator app, zbarimg reading the QR code, PyJWKClient as the resource server,
and the single-use and attempt-limit rules under parallel requests."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.e2e.conftest import Deployment
from tests.e2e.test_password_flow import resource_server_verify
from tests.support import TotpDevice, run_parallel

pytestmark = pytest.mark.e2e

MFA_SCOPE = "openid enroll read:authenticators remove:authenticators"
GRANT = "http://protekt.dev/oauth/grant-type/"


def need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} missing (Debian package {package}; ./scripts/test.sh installs it)")


def oathtool_device(secret: str) -> TotpDevice:
    """An authenticator app that is not ours: Debian's oathtool computes every code."""
    need("oathtool", "oathtool")

    def code_at(step: int) -> str:
        return subprocess.run(["oathtool", "--totp", "-b", "--now", f"@{step * 30}", secret],
                              capture_output=True, text=True, check=True).stdout.strip()

    return TotpDevice(secret, code_at)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def login(deployment: Deployment, scope: str = "openid") -> requests.Response:
    return deployment.token(grant_type="password", username=deployment.email,
                            password="correct horse battery staple", scope=scope)


def enroll(deployment: Deployment) -> tuple[dict[str, Any], TotpDevice]:
    """Associate and confirm an authenticator app with a password-only access token."""
    access = login(deployment, MFA_SCOPE).json()["access_token"]
    body = requests.post(f"{deployment.url}/mfa/associate", json={"type": "otp"},
                         headers=bearer(access), timeout=10).json()
    device = oathtool_device(body["secret"])
    confirmed = requests.post(f"{deployment.url}/mfa/authenticators/{body['id']}/confirm",
                              json={"otp": device.next_code()}, headers=bearer(access),
                              timeout=10)
    assert confirmed.status_code == 200, confirmed.text
    return body, device


def mfa_token(deployment: Deployment) -> str:
    response = login(deployment)
    assert response.status_code == 403, response.text
    return response.json()["mfa_token"]


def audit_count(deployment: Deployment, event: str) -> int:
    engine = sa.create_engine(deployment.server.env["PROTEKT_DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM audit_events WHERE type = :t"),
                             {"t": event}).scalar_one()
    engine.dispose()
    return int(count)


def test_enroll_with_oathtool_then_log_in_with_mfa(
    deployment: Deployment, tmp_path: Path,
) -> None:
    body, device = enroll(deployment)
    need("zbarimg", "zbar-tools")
    png = tmp_path / "qr.png"
    png.write_bytes(base64.b64decode(body["qr_code"].removeprefix("data:image/png;base64,")))
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True,
                             text=True, check=True).stdout.rstrip("\n")
    assert decoded == body["barcode_uri"]

    required = login(deployment)
    assert required.status_code == 403 and required.json()["error"] == "mfa_required"
    ticket = required.json()["mfa_token"]
    challenge = requests.post(f"{deployment.url}/mfa/challenge", timeout=10,
                              data={"mfa_token": ticket, "challenge_type": "otp"},
                              auth=(deployment.client_id, deployment.client_secret))
    assert challenge.json() == {"challenge_type": "otp"}
    tokens = deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=ticket,
                              otp=device.next_code())
    assert tokens.status_code == 200, tokens.text
    claims = resource_server_verify(deployment, tokens.json()["access_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"] and "auth_time" in claims

    recovered = deployment.token(grant_type=GRANT + "mfa-recovery-code",
                                 mfa_token=mfa_token(deployment),
                                 recovery_code=body["recovery_codes"][0])
    assert recovered.json()["recovery_codes_remaining"] == 9
    assert resource_server_verify(deployment, recovered.json()["access_token"])["amr"] == [
        "pwd", "mfa"]


def test_thirty_parallel_redemptions_of_one_recovery_code_succeed_once(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    deployment.cli("mfa", "settings", "--user-failure-burst", "100")  # let all 30 be checked
    body, _ = enroll(deployment)
    tickets = [mfa_token(deployment) for _ in range(30)]
    code = body["recovery_codes"][0]
    responses = run_parallel(30, lambda: deployment.token(
        grant_type=GRANT + "mfa-recovery-code", mfa_token=tickets.pop(), recovery_code=code))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 29
    assert audit_count(deployment, "mfa.recovery_code.used") == 1


def test_twenty_parallel_exchanges_of_one_mfa_token_give_one_token_response(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    _, device = enroll(deployment)
    ticket, code = mfa_token(deployment), device.next_code()
    responses = run_parallel(20, lambda: deployment.token(
        grant_type=GRANT + "mfa-otp", mfa_token=ticket, otp=code))
    assert [r.status_code for r in responses].count(200) == 1
    assert {r.json()["error"] for r in responses if r.status_code != 200} <= {
        "too_many_attempts", "invalid_grant"}
    assert audit_count(deployment, "mfa.verify.success") == 1
    assert audit_count(deployment, "mfa.verify.failure") == 0  # a double-click is no wrong code


def test_parallel_exchanges_of_one_mfa_token_spend_one_recovery_code(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    body, _ = enroll(deployment)
    ticket = mfa_token(deployment)
    responses = run_parallel(10, lambda: deployment.token(
        grant_type=GRANT + "mfa-recovery-code", mfa_token=ticket,
        recovery_code=body["recovery_codes"][0]))
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1 and winners[0].json()["recovery_codes_remaining"] == 9
    other = deployment.token(grant_type=GRANT + "mfa-recovery-code",
                             mfa_token=mfa_token(deployment),
                             recovery_code=body["recovery_codes"][1])
    assert other.json()["recovery_codes_remaining"] == 8  # no code was spent by the losers


def test_a_parallel_burst_of_wrong_codes_stays_within_the_limits(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    _, device = enroll(deployment)
    tickets = [mfa_token(deployment) for _ in range(8)]
    attempts = [(ticket, wrong) for ticket in tickets for wrong in ("000000", "111111",
                                                                    "222222", "333333")]
    right = device.next_code()
    attempts = [(t, c) for t, c in attempts if c != right]

    def attempt() -> requests.Response:
        ticket, code = attempts.pop()
        return deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=ticket, otp=code)

    responses = run_parallel(len(attempts), attempt)
    assert all(r.status_code in (400, 429) for r in responses)
    failures = audit_count(deployment, "mfa.verify.failure")
    assert failures <= 10  # the user's burst, whatever the number of mfa_tokens
    assert [r.status_code for r in responses].count(400) == failures
    for _ in range(10 - failures):  # fill the rest of the burst one by one
        wrong = deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=mfa_token(deployment),
                                 otp="000000" if right != "000000" else "111111")
        assert wrong.status_code == 400
    locked = deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=mfa_token(deployment),
                              otp=right)
    assert locked.status_code == 429 and locked.json()["error"] == "too_many_attempts"
    assert audit_count(deployment, "mfa.verify.failure") == 10
    assert audit_count(deployment, "mfa.locked") == 1


def test_one_mfa_token_under_a_parallel_burst_checks_at_most_five_codes(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    _, device = enroll(deployment)
    ticket = mfa_token(deployment)
    responses = run_parallel(20, lambda: deployment.token(
        grant_type=GRANT + "mfa-otp", mfa_token=ticket, otp="000000"))
    assert all(r.status_code in (400, 429) for r in responses)
    for _ in range(10):  # sequential now: the token takes at most 5 wrong codes in all
        deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=ticket, otp="000000")
    assert audit_count(deployment, "mfa.verify.failure") == 5
    last = deployment.token(grant_type=GRANT + "mfa-otp", mfa_token=ticket,
                            otp=device.next_code())
    assert last.status_code == 429
