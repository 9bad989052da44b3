"""The guide's Python functions, unmodified, against ``protekt serve`` through the Python SDK.

``fixtures/guide_snippets.py`` is the text of the guide's Python code blocks, byte for byte; the
harness supplies only ``protekt`` (an SDK client) and ``session`` (a dict), as the guide's own
application would. oathtool is the user's authenticator app; SMS codes come from the ``file``
outbox.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from protekt import Protekt
from tests.conftest import ROOT
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_mfa_flow import oathtool_device
from tests.e2e.test_sms_flow import PHONE, sms_deployment
from tests.support import Outbox, TotpDevice

pytestmark = pytest.mark.e2e

SNIPPETS = Path(__file__).parent / "fixtures" / "guide_snippets.py"
# The product guide sits beside the repository (../shared), or in the shared folder of our machines.
GUIDE_PLACES = (ROOT.parent / "shared" / "product" / "mfa-guide.md",
                Path("/work/shared/product/mfa-guide.md"))
MFA_TOKEN_TTL = 60  # the shortest the settings allow, so the expiry test waits least


class Guide:
    """The guide's functions, run in a namespace holding only what the guide's app provides."""

    def __init__(self, protekt: Protekt) -> None:
        self.session: dict[str, str] = {}
        self.functions: dict[str, Any] = {"protekt": protekt, "session": self.session}
        exec(compile(SNIPPETS.read_text(), str(SNIPPETS), "exec"), self.functions)  # noqa: S102

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return self.functions[name]


@pytest.fixture(scope="module")
def journey(make_deployment: Callable[..., Deployment],
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Deployment, Outbox, Guide]:
    deployment, outbox = sms_deployment(make_deployment, tmp_path_factory.mktemp("sms"), 10)
    deployment.cli("mfa", "settings", "--mfa-token-ttl", str(MFA_TOKEN_TTL))
    protekt = Protekt(deployment.url, deployment.client_id, deployment.client_secret)
    return deployment, outbox, Guide(protekt)


@pytest.fixture(scope="module")
def expiring_login(journey: tuple[Deployment, Outbox, Guide]) -> tuple[str, TotpDevice, float]:
    """An mfa_token taken first, so it has expired by the time the module's last test runs."""
    deployment, _, guide = journey
    deployment.cli("create-user", "--email", "eve@example.org", "--password", PASSWORD)
    tokens = guide.login_with_mfa("eve@example.org", PASSWORD)["tokens"]
    totp = guide.enroll_totp(tokens["access_token"])
    device = oathtool_device(totp["manual_entry_key"])
    guide.confirm_totp_enrollment(totp["enrollment_id"], device.next_code(),
                                  tokens["access_token"])
    login = guide.login_with_mfa("eve@example.org", PASSWORD)
    return login["mfa_token"], device, time.monotonic()


def wrong(code: str) -> str:
    """A code that is not ``code`` (nor, but by a one-in-a-million chance, any other valid)."""
    return f"{(int(code) + 1) % 10**6:06d}"


def amr(access_token: str) -> list[str]:
    return jwt.decode(access_token, options={"verify_signature": False})["amr"]


def test_the_fixture_is_the_guides_python_code_unmodified() -> None:
    guide = next((place for place in GUIDE_PLACES if place.exists()), None)
    if guide is None:
        pytest.skip(f"product/mfa-guide.md is in none of {[str(p) for p in GUIDE_PLACES]}")
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), re.DOTALL)
    assert SNIPPETS.read_text() == "\n".join(blocks)


def test_the_guides_journey_app_then_phone(
    journey: tuple[Deployment, Outbox, Guide], expiring_login: tuple[str, TotpDevice, float],
) -> None:
    deployment, _, guide = journey
    first = guide.login_with_mfa(deployment.email, PASSWORD)
    assert first["requires_mfa"] is False and amr(first["tokens"]["access_token"]) == ["pwd"]
    access_token = first["tokens"]["access_token"]

    totp = guide.enroll_totp(access_token)
    assert totp["qr_code_url"].startswith("otpauth://totp/Protekt:ann@example.org?secret=")
    device = oathtool_device(totp["manual_entry_key"])
    assert guide.confirm_totp_enrollment(
        totp["enrollment_id"], device.next_code(), access_token) == {"success": True}
    with pytest.raises(Exception, match=r"^SMS enrollment failed: mfa_required: "):
        guide.enroll_sms(PHONE, access_token)  # README, API: more factors need an MFA login

    login = guide.login_with_mfa(deployment.email, PASSWORD)
    assert login["requires_mfa"] is True
    assert login["available_methods"] == ["otp", "recovery-code"]
    assert guide.challenge_mfa(login["mfa_token"], "otp") == {
        "challenge_type": "otp", "message": "Enter code from your authenticator app"}
    code = device.next_code()
    with pytest.raises(Exception, match=r"^Invalid verification code$"):
        guide.verify_mfa(login["mfa_token"], wrong(code))
    verified = guide.verify_mfa(login["mfa_token"], code)
    assert verified["success"] is True
    assert guide.session["access_token"] == verified["tokens"]["access_token"]
    assert guide.session["id_token"] and guide.session["refresh_token"]
    assert amr(guide.session["access_token"]) == ["pwd", "otp", "mfa"]
    add_a_phone_then_log_in_by_sms(journey)


def add_a_phone_then_log_in_by_sms(journey: tuple[Deployment, Outbox, Guide]) -> None:
    """The journey's second half: the MFA login's tokens may add a phone."""
    deployment, outbox, guide = journey
    enrollment = guide.enroll_sms(PHONE, guide.session["access_token"])
    assert enrollment["success"] is True and enrollment["enrollment_id"]

    login = guide.login_with_mfa(deployment.email, PASSWORD)
    assert login["available_methods"] == ["otp", "sms", "recovery-code"]
    assert guide.challenge_mfa(login["mfa_token"]) == {
        "challenge_type": "sms", "message": "SMS code sent to your phone"}
    code = outbox.last_code(PHONE)
    with pytest.raises(Exception, match=r"^Invalid verification code$"):
        guide.verify_mfa(login["mfa_token"], wrong(code))
    assert guide.verify_mfa(login["mfa_token"], code)["success"] is True
    assert amr(guide.session["access_token"]) == ["pwd", "sms", "mfa"]


def test_an_expired_mfa_token_is_reported_as_expired(
    journey: tuple[Deployment, Outbox, Guide], expiring_login: tuple[str, TotpDevice, float],
) -> None:
    mfa_token, device, taken_at = expiring_login
    time.sleep(max(0.0, taken_at + MFA_TOKEN_TTL + 1 - time.monotonic()))
    expired = r"^Verification code expired\. Please request a new one\.$"
    with pytest.raises(Exception, match=expired):
        journey[2].verify_mfa(mfa_token, device.next_code())
