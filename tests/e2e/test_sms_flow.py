"""The SMS factor against ``protekt serve`` (2 workers, PostgreSQL, Redis): enroll a number, log
in, read the code from the ``file`` outbox, exchange it with the mfa-oob grant, check the tokens
as a resource server would; and the credits, the cool-down and single use under parallel
requests, across both worker processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_mfa_flow import MFA_SCOPE, bearer, login
from tests.e2e.test_password_flow import resource_server_verify
from tests.support import Outbox, run_parallel

pytestmark = pytest.mark.e2e

OOB_GRANT = "http://protekt.dev/oauth/grant-type/mfa-oob"
PHONE = "+14155552671"


def sms_deployment(make_deployment: Callable[..., Deployment], tmp_path: Path,
                   credits: int) -> tuple[Deployment, Outbox]:
    outbox = Outbox(tmp_path / "outbox.jsonl")
    deployment = make_deployment(PROTEKT_SMS_PROVIDER="file",
                                 PROTEKT_SMS_OUTBOX=str(outbox.path))
    added = json.loads(deployment.cli("sms", "credits", "--add", str(credits), "--json").stdout)
    assert added == {"balance": credits}
    return deployment, outbox


def enroll_phone(deployment: Deployment, number: str = PHONE) -> str:
    access = login(deployment, MFA_SCOPE).json()["access_token"]
    response = requests.post(f"{deployment.url}/mfa/associate", timeout=10,
                             json={"type": "sms", "phone_number": number},
                             headers=bearer(access))
    assert response.status_code == 200, response.text
    return response.json()["id"]


def challenge(deployment: Deployment, mfa_token: str) -> requests.Response:
    return requests.post(f"{deployment.url}/mfa/challenge", timeout=10,
                         auth=(deployment.client_id, deployment.client_secret),
                         data={"mfa_token": mfa_token, "challenge_type": "sms"})


def mfa_token(deployment: Deployment) -> str:
    response = login(deployment)
    assert response.status_code == 403, response.text
    return response.json()["mfa_token"]


def test_enroll_a_phone_then_log_in_with_the_sms_code(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    deployment, outbox = sms_deployment(make_deployment, tmp_path, credits=5)
    enroll_phone(deployment)
    required = login(deployment)
    assert required.status_code == 403
    assert required.json()["available_factors"] == ["sms", "recovery-code"]
    token_value = required.json()["mfa_token"]
    sent = challenge(deployment, token_value).json()
    assert (sent["challenge_type"], sent["binding_method"]) == ("oob", "prompt")
    message = outbox.last(PHONE)
    granted = deployment.token(grant_type=OOB_GRANT, mfa_token=token_value,
                               oob_code=sent["oob_code"], binding_code=message["code"])
    assert granted.status_code == 200, granted.text
    claims = resource_server_verify(deployment, granted.json()["access_token"])
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    shown = json.loads(deployment.cli("sms", "credits", "--json").stdout)
    assert shown == {"balance": 4}


def test_parallel_challenges_on_one_phone_send_one_sms(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    deployment, outbox = sms_deployment(make_deployment, tmp_path, credits=50)
    enroll_phone(deployment)
    tokens = [mfa_token(deployment) for _ in range(4)]
    responses = run_parallel(20, lambda: challenge(deployment, tokens[0]))
    responses += [challenge(deployment, t) for t in tokens[1:]]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [429] * 22, statuses
    assert len(outbox.messages()) == 1


def test_parallel_sends_never_overdraw_the_credits(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    deployment, outbox = sms_deployment(make_deployment, tmp_path, credits=3)
    people = []
    for index in range(8):
        person = Deployment(deployment.server, deployment.client_id, deployment.client_secret,
                            email=f"user{index}@example.org")
        deployment.cli("create-user", "--email", person.email, "--password", PASSWORD)
        enroll_phone(person, f"+1415555{2600 + index}")
        people.append(person)
    tokens = iter([mfa_token(person) for person in people])
    responses = run_parallel(len(people), lambda: challenge(deployment, next(tokens)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 3 + [503] * 5, statuses
    assert all("sms_credits_exhausted" in r.json()["error_description"]
               for r in responses if r.status_code == 503)
    assert len(outbox.messages()) == 3
    assert json.loads(deployment.cli("sms", "credits", "--json").stdout) == {"balance": 0}


def test_parallel_exchanges_of_one_sms_code_give_one_token_response(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    deployment, outbox = sms_deployment(make_deployment, tmp_path, credits=5)
    enroll_phone(deployment)
    token_value = mfa_token(deployment)
    oob_code = challenge(deployment, token_value).json()["oob_code"]
    code = outbox.last_code()
    responses = run_parallel(15, lambda: deployment.token(
        grant_type=OOB_GRANT, mfa_token=token_value, oob_code=oob_code, binding_code=code))
    assert sum(r.status_code == 200 for r in responses) == 1
    assert all(r.status_code in (200, 400, 429) for r in responses)


def test_parallel_phone_enrollments_with_one_mfa_token_leave_one_phone(
    make_deployment: Callable[..., Deployment], tmp_path: Path,
) -> None:
    """Policy required: an mfa_token may enroll only while the user has no active factor; five
    parallel SMS enrollments (active at once) must not all pass that rule."""
    deployment, _ = sms_deployment(make_deployment, tmp_path, credits=5)
    deployment.cli("mfa", "settings", "--policy", "required")
    token_value = mfa_token(deployment)
    numbers = iter(f"+1415555{2700 + index}" for index in range(5))
    responses = run_parallel(5, lambda: requests.post(
        f"{deployment.url}/mfa/associate", timeout=10, headers=bearer(token_value),
        json={"type": "sms", "phone_number": next(numbers)}))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [403] * 4, statuses
    listed = requests.get(f"{deployment.url}/mfa/authenticators", headers=bearer(token_value),
                          timeout=10).json()
    assert [item["authenticator_type"] for item in listed] == ["oob", "recovery-code"]
