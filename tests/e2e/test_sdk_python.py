"""The Python SDK's own behaviour against ``protekt serve``: the grant ``verify`` picks, refresh
rotation and revocation, factor management, and the one error type."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from protekt import AccessTokenVerifier, Protekt, ProtektError
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_mfa_flow import oathtool_device
from tests.e2e.test_sms_flow import PHONE, sms_deployment
from tests.support import Outbox, TotpDevice, free_port

pytestmark = pytest.mark.e2e


class Account:
    """ann, with an authenticator app, a phone and recovery codes, through one SDK client."""

    def __init__(self, deployment: Deployment, outbox: Outbox) -> None:
        self.deployment = deployment
        self.outbox = outbox
        self.sdk = Protekt(deployment.url, deployment.client_id, deployment.client_secret)
        first = self.password_login()
        enrollment = self.sdk.mfa.enroll({"type": "otp"}, first["access_token"])
        self.device: TotpDevice = oathtool_device(enrollment["secret"])
        self.sdk.mfa.confirm_enrollment(enrollment["id"], {"otp": self.device.next_code()},
                                        first["access_token"])
        self.recovery_codes: list[str] = enrollment["recovery_codes"]
        self.tokens = self.mfa_login()
        self.sdk.mfa.enroll({"type": "sms", "phone_number": PHONE}, self.tokens["access_token"])

    def password_login(self) -> dict[str, str]:
        return self.sdk.authentication.login({"username": self.deployment.email,
                                              "password": PASSWORD})

    def mfa_login(self) -> dict[str, str]:
        """A login finished with a recovery code (no clock, no SMS cool-down)."""
        mfa_token = self.password_login()["mfa_token"]
        return self.sdk.mfa.verify({"mfa_token": mfa_token,
                                    "recovery_code": self.recovery_codes.pop()})


@pytest.fixture(scope="module")
def account(make_deployment: Callable[..., Deployment],
            tmp_path_factory: pytest.TempPathFactory) -> Account:
    deployment, outbox = sms_deployment(make_deployment, tmp_path_factory.mktemp("sms"), 10)
    deployment.cli("mfa", "settings", "--sms-resend-cooldown", "1")
    return Account(deployment, outbox)


def sms_challenge(sdk: Protekt, mfa_token: str, challenge_type: str = "sms") -> dict[str, str]:
    """Ask for an SMS, waiting out the resend cool-down as the server says to."""
    body = {"mfa_token": mfa_token, "challenge_type": challenge_type}
    try:
        return sdk.mfa.challenge(body)
    except ProtektError as refused:
        if refused.error != "too_many_attempts" or refused.retry_after is None:
            raise
        time.sleep(refused.retry_after)
        return sdk.mfa.challenge(body)


def test_verify_after_an_sms_challenge_uses_that_challenges_oob_code(account: Account) -> None:
    sms_login = account.password_login()["mfa_token"]
    challenge = sms_challenge(account.sdk, sms_login)
    assert challenge["challenge_type"] == "oob" and challenge["binding_method"] == "prompt"

    otp_login = account.password_login()["mfa_token"]  # another login: not an SMS one
    by_app = account.sdk.mfa.verify({"mfa_token": otp_login, "otp": account.device.next_code()})
    by_sms = account.sdk.mfa.verify({"mfa_token": sms_login, "otp": account.outbox.last_code()})
    verifier = AccessTokenVerifier(account.deployment.url, account.deployment.url)
    assert verifier.verify(by_app["access_token"])["amr"] == ["pwd", "otp", "mfa"]
    assert verifier.verify(by_sms["access_token"])["amr"] == ["pwd", "sms", "mfa"]


def test_verify_with_an_explicit_oob_code_and_a_recovery_code(account: Account) -> None:
    mfa_token = account.password_login()["mfa_token"]
    other = Protekt(account.deployment.url, account.deployment.client_id,
                    account.deployment.client_secret)  # another process: it remembers nothing
    oob_code = sms_challenge(other, mfa_token, "oob")["oob_code"]
    tokens = account.sdk.mfa.verify({"mfa_token": mfa_token, "oob_code": oob_code,
                                     "binding_code": account.outbox.last_code()})
    assert tokens["token_type"] == "Bearer"

    remaining = len(account.recovery_codes) - 1
    assert account.mfa_login()["recovery_codes_remaining"] == remaining


def test_a_wrong_code_raises_invalid_grant_and_the_same_login_can_retry(account: Account) -> None:
    mfa_token = account.password_login()["mfa_token"]
    with pytest.raises(ProtektError) as refused:
        account.sdk.mfa.verify({"mfa_token": mfa_token, "recovery_code": "0000-0000-0000-0000"})
    assert (refused.value.error, refused.value.status) == ("invalid_grant", 400)
    assert str(refused.value).startswith("invalid_grant: ")
    tokens = account.sdk.mfa.verify({"mfa_token": mfa_token,
                                     "recovery_code": account.recovery_codes.pop()})
    assert "access_token" in tokens


def test_refresh_rotates_and_revoke_ends_the_login(account: Account) -> None:
    tokens = account.mfa_login()
    refreshed = account.sdk.authentication.refresh(tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    account.sdk.authentication.revoke(refreshed["refresh_token"])
    with pytest.raises(ProtektError) as refused:
        account.sdk.authentication.refresh(refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"
    # the login's access tokens went with it (RFC 7009 §2.1), at Protekt's own endpoints
    with pytest.raises(ProtektError) as gone:
        account.sdk.authentication.userinfo(tokens["access_token"])
    assert (gone.value.error, gone.value.status) == ("invalid_token", 401)


def test_factors_are_listed_removed_and_recovery_codes_replaced(account: Account) -> None:
    access_token = account.mfa_login()["access_token"]
    second = "+14155550198"
    added = account.sdk.mfa.enroll({"type": "sms", "phone_number": second}, access_token)
    listed = account.sdk.mfa.list_authenticators(access_token)
    phone = next(a for a in listed if a["id"] == added["id"])
    assert phone["phone_number"].endswith("0198") and second not in json.dumps(listed)
    assert account.sdk.mfa.delete_authenticator(phone["id"], access_token) is None
    assert all(a["id"] != phone["id"] for a in account.sdk.mfa.list_authenticators(access_token))

    new_codes = account.sdk.mfa.regenerate_recovery_codes(access_token)["recovery_codes"]
    old_code = account.recovery_codes.pop()
    with pytest.raises(ProtektError, match=r"^invalid_grant: "):
        account.sdk.mfa.verify({"mfa_token": account.password_login()["mfa_token"],
                                "recovery_code": old_code})
    account.recovery_codes = new_codes
    assert "access_token" in account.mfa_login()


def test_a_limit_reports_when_to_retry(account: Account) -> None:
    mfa_token = account.password_login()["mfa_token"]
    sms_challenge(account.sdk, mfa_token)
    with pytest.raises(ProtektError) as refused:
        account.sdk.mfa.challenge({"mfa_token": mfa_token, "challenge_type": "sms"})
    assert (refused.value.error, refused.value.status) == ("too_many_attempts", 429)
    assert refused.value.retry_after == 1


def test_an_unreachable_server_is_a_network_error() -> None:
    sdk = Protekt(f"http://127.0.0.1:{free_port()}", "client", timeout=2)
    with pytest.raises(ProtektError) as refused:
        sdk.authentication.login({"username": "a@example.org", "password": "x"})
    assert (refused.value.error, refused.value.status) == ("network_error", None)


def test_a_domain_without_a_scheme_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="domain must be a URL like https://"):
        Protekt("auth.example.com", "client")


def test_switching_from_sms_to_the_app_verifies_the_apps_code(account: Account) -> None:
    mfa_token = account.password_login()["mfa_token"]
    sms_challenge(account.sdk, mfa_token)
    assert account.sdk.mfa.challenge({"mfa_token": mfa_token, "challenge_type": "otp"}) == {
        "challenge_type": "otp"}
    tokens = account.sdk.mfa.verify({"mfa_token": mfa_token, "otp": account.device.next_code()})
    assert "otp" in AccessTokenVerifier(account.deployment.url, account.deployment.url).verify(
        tokens["access_token"])["amr"]
