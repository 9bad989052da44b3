"""Redis stops mid-flow: the server fails closed (503, no token) and recovers when it returns.

The test runs a redis-server of its own on a free port and stops only that one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.e2e.conftest import PASSWORD, Deployment
from tests.support import RedisServer

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
