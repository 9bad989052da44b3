"""Redis stops mid-flow: the server fails closed (503, no token) and recovers when it returns;
Redis that restarts empty (no persistence) costs the logins in flight and fences off the access
tokens issued before, and loses nothing the database holds.

The tests run a redis-server of their own on a free port (no persistence) and stop only that one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
import requests

from authserver.tokens.access import LIST_LOST
from tests.conftest import GRANT_URI, MFA_SCOPE
from tests.e2e.conftest import PASSWORD, Deployment
from tests.support import RedisServer, TotpDevice

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed; run ./scripts/test.sh, which installs it")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_outage_fails_closed_and_recovers(
    own_redis: RedisServer, make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment(PROTEKT_REDIS_URL=own_redis.url)
    assert deployment.login().status_code == 200

    own_redis.stop()
    for _ in range(3):  # every worker, every attempt
        response = deployment.login()
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "temporarily_unavailable"
        assert "access_token" not in body and "refresh_token" not in body
        assert int(response.headers["Retry-After"]) > 0

    own_redis.start()
    response = deployment.login()
    assert response.status_code == 200 and "access_token" in response.json()


def test_a_hung_redis_fails_each_request_closed_fast(
    own_redis: RedisServer, make_deployment: Callable[..., Deployment],
) -> None:
    """A Redis that stops answering (frozen: port open, no replies) costs a request its
    PROTEKT_REDIS_TIMEOUT (0.25 s) twice, not seconds: each answer is a 503 well inside the
    client's 3 s patience (the timeouts before were 2 s per try, about 6 s per request)."""
    deployment = make_deployment(PROTEKT_REDIS_URL=own_redis.url)
    assert deployment.login().status_code == 200
    own_redis.pause()
    try:
        for data in ({"grant_type": "password", "username": deployment.email,
                      "password": PASSWORD}, {"grant_type": "client_credentials"}) * 2:
            response = requests.post(f"{deployment.url}/oauth/token", data=data, timeout=3,
                                     auth=(deployment.client_id, deployment.client_secret))
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "temporarily_unavailable"
    finally:
        own_redis.resume()
    assert deployment.login().status_code == 200


def userinfo(deployment: Deployment, access_token: str) -> requests.Response:
    return requests.get(f"{deployment.url}/userinfo", timeout=10,
                        headers={"Authorization": f"Bearer {access_token}"})


def enroll_app(deployment: Deployment) -> tuple[TotpDevice, list[str]]:
    """Ann's authenticator app, enrolled and confirmed through the API; her recovery codes."""
    own = deployment.login_with(scope=MFA_SCOPE).json()["access_token"]
    headers = {"Authorization": f"Bearer {own}"}
    made = requests.post(f"{deployment.url}/mfa/associate", json={"type": "otp"},
                         headers=headers, timeout=10).json()
    device = TotpDevice(made["secret"])
    confirmed = requests.post(f"{deployment.url}/mfa/authenticators/{made['id']}/confirm",
                              json={"otp": device.next_code()}, headers=headers, timeout=10)
    assert confirmed.status_code == 200, confirmed.text
    return device, made["recovery_codes"]


def test_redis_restarting_empty_fails_closed_and_keeps_what_the_database_holds(
    own_redis: RedisServer, make_deployment: Callable[..., Deployment],
) -> None:
    """What a Redis restart without persistence costs (README, Running it for real): the
    mfa_tokens in flight (log in again), the access tokens issued before it at Protekt's own
    endpoints (the revocation list is gone, so they are refused rather than trusted; a refresh
    gets new ones), sign-in sessions, SMS codes and limit counters. Refresh tokens, users,
    factors and keys are in the database and unaffected."""
    deployment = make_deployment(PROTEKT_REDIS_URL=own_redis.url)
    device, recovery_codes = enroll_app(deployment)
    first = deployment.login()
    assert first.status_code == 403, first.text
    in_flight = first.json()["mfa_token"]
    signed_in = deployment.token(grant_type=GRANT_URI + "mfa-otp",
                                 mfa_token=deployment.login().json()["mfa_token"],
                                 otp=device.next_code()).json()
    assert userinfo(deployment, signed_in["access_token"]).status_code == 200

    own_redis.stop()
    own_redis.start()  # empty: it kept nothing on disk

    lost = deployment.token(grant_type=GRANT_URI + "mfa-recovery-code", mfa_token=in_flight,
                            recovery_code=recovery_codes[0])
    assert lost.status_code == 400 and lost.json()["error"] == "invalid_grant", lost.text
    fenced = userinfo(deployment, signed_in["access_token"])
    assert fenced.status_code == 401, fenced.text
    assert fenced.json() == {"error": "invalid_token", "error_description": LIST_LOST}
    renewed = deployment.token(grant_type="refresh_token",
                               refresh_token=signed_in["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert userinfo(deployment, renewed.json()["access_token"]).status_code == 200
    again = deployment.token(grant_type=GRANT_URI + "mfa-recovery-code",
                             mfa_token=deployment.login().json()["mfa_token"],
                             recovery_code=recovery_codes[0])  # not spent by the lost login
    assert again.status_code == 200, again.text
