"""Passkeys against ``protekt serve`` (2 workers, PostgreSQL, Redis) at ``http://localhost``,
with the software authenticator of tests/softkey.py: one assertion sent 20 times at once, as the
second factor and as a passwordless sign-in, passes once; the tokens verify at a resource server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from protekt import Protekt, ProtektError
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_password_flow import resource_server_verify
from tests.softkey import SoftKey
from tests.support import run_parallel

pytestmark = pytest.mark.e2e
GRANT = "http://protekt.dev/oauth/grant-type/"


@pytest.fixture(scope="module")
def passkey_deployment(make_deployment: Callable[..., Deployment]) -> Deployment:
    return make_deployment(host="localhost")


@pytest.fixture(scope="module")
def key(passkey_deployment: Deployment) -> SoftKey:
    """Ann's passkey, enrolled with a password-only access token."""
    deployment = passkey_deployment
    key = SoftKey(rp_id="localhost", origin=deployment.url)
    access = deployment.login_with(scope="openid enroll").json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    body = requests.post(f"{deployment.url}/mfa/associate", headers=bearer, timeout=10,
                         json={"authenticator_types": ["webauthn-platform"]}).json()
    confirmed = requests.post(f"{deployment.url}/mfa/authenticators/{body['id']}/confirm",
                              headers=bearer, timeout=10,
                              json={"credential": key.register(body["options"])})
    assert confirmed.status_code == 200, confirmed.text
    return key


def statuses(responses: list[requests.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def test_twenty_parallel_answers_with_one_assertion_give_one_login(
        passkey_deployment: Deployment, key: SoftKey) -> None:
    deployment = passkey_deployment
    ticket = deployment.login().json()["mfa_token"]
    challenge = requests.post(f"{deployment.url}/mfa/challenge", timeout=10,
                              data={"mfa_token": ticket, "challenge_type": "webauthn"},
                              auth=(deployment.client_id, deployment.client_secret)).json()
    credential = json.dumps(key.assert_(challenge["options"]))
    responses = run_parallel(20, lambda: deployment.token(
        grant_type=GRANT + "mfa-webauthn", mfa_token=ticket, credential=credential))
    counted = statuses(responses)
    assert counted[200] == 1, [r.text for r in responses]
    assert counted[200] + counted[400] + counted[429] == 20
    [won] = [r.json() for r in responses if r.status_code == 200]
    assert resource_server_verify(deployment, won["access_token"])["amr"] == [
        "pwd", "hwk", "mfa"]


def test_twenty_parallel_passwordless_sign_ins_with_one_assertion_give_one(
        passkey_deployment: Deployment, key: SoftKey) -> None:
    deployment = passkey_deployment
    started: dict[str, Any] = requests.post(
        f"{deployment.url}/passkey/challenge", timeout=10,
        auth=(deployment.client_id, deployment.client_secret)).json()
    credential = json.dumps(key.assert_(started["options"]))
    responses = run_parallel(20, lambda: deployment.token(
        grant_type=GRANT + "passkey", passkey_session=started["passkey_session"],
        credential=credential))
    assert statuses(responses) == Counter({200: 1, 400: 19}), [r.text for r in responses]
    [won] = [r.json() for r in responses if r.status_code == 200]
    assert resource_server_verify(deployment, won["access_token"])["amr"] == [
        "hwk", "user", "mfa"]


def test_a_python_app_relays_the_browsers_answers(passkey_deployment: Deployment) -> None:
    """The Python SDK's calls for an app whose server side talks to Protekt while the browser
    holds the passkey (here the software authenticator stands in for the browser)."""
    deployment = passkey_deployment
    deployment.cli("create-user", "--email", "py@example.org", "--password", PASSWORD)
    sdk = Protekt(deployment.url, deployment.client_id, deployment.client_secret)
    key = SoftKey(rp_id="localhost", origin=deployment.url)
    first = sdk.authentication.login({"username": "py@example.org", "password": PASSWORD})
    created = sdk.mfa.enroll({"authenticator_types": ["webauthn-roaming"]},
                             first["access_token"])
    confirmed = sdk.mfa.confirm_enrollment(
        created["id"], {"credential": key.register(created["options"])}, first["access_token"])
    assert confirmed["authenticator_type"] == "webauthn-roaming" and confirmed["active"]

    login = sdk.authentication.login({"username": "py@example.org", "password": PASSWORD})
    challenge = sdk.mfa.challenge({"mfa_token": login["mfa_token"],
                                   "challenge_type": "webauthn"})
    tokens = sdk.mfa.verify({"mfa_token": login["mfa_token"],
                             "credential": key.assert_(challenge["options"])})
    assert resource_server_verify(deployment, tokens["access_token"])["amr"] == [
        "pwd", "hwk", "mfa"]

    started = sdk.authentication.passkey_challenge()
    passwordless = sdk.authentication.login_with_passkey({
        "passkey_session": started["passkey_session"],
        "credential": json.dumps(key.assert_(started["options"]))})
    assert resource_server_verify(deployment, passwordless["access_token"])["amr"] == [
        "hwk", "user", "mfa"]
    with pytest.raises(ProtektError) as replayed:
        sdk.authentication.login_with_passkey({"passkey_session": started["passkey_session"],
                                     "credential": key.assert_(started["options"])})
    assert replayed.value.error == "invalid_grant"
