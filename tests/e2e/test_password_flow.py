"""The core flow against ``protekt serve``: tokens a resource server verifies through the JWKS
found by discovery, key rotation, userinfo, and limits that hold under parallel requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests

from tests.e2e.conftest import PASSWORD, Deployment
from tests.support import run_parallel, wait_until

pytestmark = pytest.mark.e2e


def resource_server_verify(deployment: Deployment, access_token: str) -> dict[str, Any]:
    """What a resource server does: discovery -> jwks_uri -> PyJWKClient -> checked claims."""
    meta = requests.get(f"{deployment.url}/.well-known/openid-configuration", timeout=5).json()
    signing_key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(access_token)
    return jwt.decode(
        access_token, signing_key, algorithms=["RS256"], audience=meta["issuer"],
        issuer=meta["issuer"], options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )


def test_password_grant_tokens_verify_at_a_resource_server(deployment: Deployment) -> None:
    response = deployment.login()
    assert response.status_code == 200, response.text
    body = response.json()
    claims = resource_server_verify(deployment, body["access_token"])
    assert claims["amr"] == ["pwd"] and claims["exp"] > time.time()
    assert claims["client_id"] == deployment.client_id
    userinfo = requests.get(f"{deployment.url}/userinfo", timeout=5,
                            headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.json()["sub"] == claims["sub"]


def test_after_rotation_new_tokens_carry_the_new_kid_and_old_ones_still_verify(
    deployment: Deployment,
) -> None:
    old_token = deployment.login().json()["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    deployment.cli("keys", "rotate")

    def new_kid_in_use() -> bool:  # each worker notices within PROTEKT_KEYS_REFRESH_INTERVAL
        return all(jwt.get_unverified_header(deployment.login().json()["access_token"])["kid"]
                   != old_kid for _ in range(4))

    wait_until(new_kid_in_use, timeout=15, interval=0.5)
    new_token = deployment.login().json()["access_token"]
    assert resource_server_verify(deployment, new_token)["sub"]
    assert resource_server_verify(deployment, old_token)["sub"]


def test_parallel_use_of_one_refresh_token_yields_one_token_response(
    deployment: Deployment,
) -> None:
    refresh_token = deployment.login().json()["refresh_token"]
    responses = run_parallel(20, lambda: deployment.token(grant_type="refresh_token",
                                                       refresh_token=refresh_token))
    winners = [r for r in responses if r.status_code == 200]
    # One wins the rotation; one more may arrive after it committed and pass as the retry of a
    # lost answer (README, "A lost answer may be retried"); no third.
    assert 1 <= len(winners) <= 2
    assert {r.json()["error"] for r in responses if r.status_code != 200} == {"invalid_grant"}
    # the losers were reuse: the family is revoked, every winner's new token with it
    for winner in winners:
        again = deployment.token(grant_type="refresh_token",
                                 refresh_token=winner.json()["refresh_token"])
        assert again.json()["error"] == "invalid_grant"


def test_parallel_wrong_passwords_never_exceed_the_account_limit(
    make_deployment: Callable[..., Deployment],
) -> None:
    strict = make_deployment(PROTEKT_LOGIN_ACCOUNT_FAILURES="5")
    responses = run_parallel(30, lambda: strict.login(password="wrong password"))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(400) == 5 and codes.count(429) == 25
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status_code == 429)
    assert strict.login().status_code == 429  # the right password gets the same answer


def test_unknown_user_and_wrong_password_get_the_same_answer(deployment: Deployment) -> None:
    """Over the production server, whose processes each hash with a single slot on 2 cores."""
    wrong = deployment.login(password="wrong password")
    unknown = deployment.token(grant_type="password", username="nobody@example.org",
                               password=PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() == {"error": "invalid_grant",
                                              "error_description": "Wrong email or password."}
