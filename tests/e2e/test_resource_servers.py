"""APIs built with the SDKs' helpers, given tokens from ``protekt serve``: the Python one (Flask
decorator, examples/resource-servers/python) and the Node one (``verifyAccessToken`` on jose,
examples/resource-servers/node) answer each token in the same table the same way."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from protekt import Protekt, ProtektError
from tests.conftest import ROOT
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.test_mfa_flow import oathtool_device
from tests.support import BIN, LocalProcess

pytestmark = pytest.mark.e2e

AUDIENCE = "https://api.example.test"
SCOPE = "openid read:messages"
LEEWAY = 5  # seconds of clock skew both helpers allow by default
TOKEN_TTL = 3  # the issuer's access-token lifetime here: valid 2 to 3 s after it is made
SERVERS = {
    "python": [str(BIN / "python"), str(ROOT / "examples/resource-servers/python/app.py")],
    "node": ["node", str(ROOT / "examples/resource-servers/node/server.mjs")],
}


@dataclass
class Issuer:
    """A Protekt server and an SDK client of the API's audience on it."""

    deployment: Deployment
    sdk: Protekt

    def login(self, email: str, scope: str = SCOPE, audience: str = AUDIENCE) -> dict[str, str]:
        return self.sdk.authentication.login({"username": email, "password": PASSWORD,
                                              "scope": scope, "audience": audience})


def api_issuer(deployment: Deployment) -> Issuer:
    made = deployment.cli("create-client", "--name", "API caller", "--scopes", "read:messages",
                          "--audiences", AUDIENCE, "--json")
    client = json.loads(made.stdout)
    return Issuer(deployment, Protekt(deployment.url, client["client_id"],
                                      client["client_secret"], audience=AUDIENCE))


@pytest.fixture(scope="module")
def issuer(make_deployment: Callable[..., Deployment]) -> Issuer:
    """Access tokens live TOKEN_TTL seconds, so an expired one is a few seconds' wait away."""
    return api_issuer(make_deployment(PROTEKT_ACCESS_TOKEN_TTL=str(TOKEN_TTL)))


@pytest.fixture(scope="module")
def recovery_codes(issuer: Issuer) -> list[str]:
    """bea has an authenticator app; her recovery codes give one MFA login each. Each call gets
    a token of its own: with whole-second times, one lives between TTL - 1 and TTL seconds."""

    def fresh() -> str:
        return issuer.login("bea@example.org", "enroll",
                            audience=issuer.deployment.url)["access_token"]

    issuer.deployment.cli("create-user", "--email", "bea@example.org", "--password", PASSWORD)
    enrollment = issuer.sdk.mfa.enroll({"type": "otp"}, fresh())
    device = oathtool_device(enrollment["secret"])
    code = device.next_code()
    issuer.sdk.mfa.confirm_enrollment(enrollment["id"], {"otp": code}, fresh())
    return list(enrollment["recovery_codes"])


@pytest.fixture(scope="module")
def expired_token(issuer: Issuer) -> str:
    token = issuer.login(issuer.deployment.email)["access_token"]
    time.sleep(TOKEN_TTL + LEEWAY + 1)
    return token


@pytest.fixture(scope="module", params=sorted(SERVERS))
def api(request: pytest.FixtureRequest, issuer: Issuer) -> Iterator[str]:
    if request.param == "node" and shutil.which("node") is None:
        pytest.skip("node missing (Debian package nodejs; ./scripts/test.sh installs it)")
    env = {"PROTEKT_ISSUER": issuer.deployment.url, "API_AUDIENCE": AUDIENCE}
    with LocalProcess(SERVERS[request.param], env) as process:
        yield process.url


def call(api: str, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{api}{path}", headers=headers, timeout=10)


def refused(response: requests.Response, status: int, error: str) -> str:
    """The WWW-Authenticate value of a refusal with this status and RFC 6750 error code."""
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", ') and f'error="{error}"' in challenge
    return challenge


def mfa_token(issuer: Issuer, recovery_codes: list[str]) -> str:
    login = issuer.login("bea@example.org")
    assert login["mfa_required"] is True
    tokens = issuer.sdk.mfa.verify({"mfa_token": login["mfa_token"],
                                    "recovery_code": recovery_codes.pop()})
    return tokens["access_token"]


def test_a_fresh_mfa_token_opens_both_routes(api: str, issuer: Issuer,
                                             recovery_codes: list[str]) -> None:
    token = mfa_token(issuer, recovery_codes)
    for path in ("/messages", "/messages/secret"):
        response = call(api, path, token)
        assert response.status_code == 200, response.text
        assert "mfa" in response.json()["amr"]


def test_a_password_only_token_is_refused_where_mfa_is_required(api: str,
                                                                issuer: Issuer) -> None:
    token = issuer.login(issuer.deployment.email)["access_token"]
    assert call(api, "/messages", token).json()["amr"] == ["pwd"]
    refused(call(api, "/messages/secret", token), 401, "insufficient_user_authentication")


def test_a_token_without_the_scope_is_refused_naming_it(api: str, issuer: Issuer) -> None:
    token = issuer.login(issuer.deployment.email, scope="openid")["access_token"]
    challenge = refused(call(api, "/messages", token), 403, "insufficient_scope")
    assert 'scope="read:messages"' in challenge


def test_a_request_without_a_token_gets_a_bare_challenge(api: str) -> None:
    response = call(api, "/messages", None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'  # RFC 6750 §3.1


def test_an_expired_token_is_refused(api: str, expired_token: str) -> None:
    refused(call(api, "/messages", expired_token), 401, "invalid_token")


def test_a_token_from_another_issuer_is_refused(
    api: str, make_deployment: Callable[..., Deployment],
) -> None:
    other = api_issuer(make_deployment())
    token = other.login(other.deployment.email)["access_token"]
    refused(call(api, "/messages", token), 401, "invalid_token")


def test_a_tampered_token_is_refused(api: str, issuer: Issuer) -> None:
    header, payload, signature = issuer.login(issuer.deployment.email)["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["amr"] = ["pwd", "otp", "mfa"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused(call(api, "/messages/secret", f"{header}.{forged}.{signature}"), 401,
            "invalid_token")


def test_an_unsigned_token_is_refused(api: str, issuer: Issuer) -> None:
    _, payload, _ = issuer.login(issuer.deployment.email)["access_token"].split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    refused(call(api, "/messages", f"{none}.{payload}."), 401, "invalid_token")


def test_a_token_for_another_audience_is_refused(api: str, issuer: Issuer) -> None:
    token = requests.post(f"{issuer.deployment.url}/oauth/token", timeout=10,
                          auth=(issuer.deployment.client_id, issuer.deployment.client_secret),
                          data={"grant_type": "password", "username": issuer.deployment.email,
                                "password": PASSWORD}).json()["access_token"]
    refused(call(api, "/messages", token), 401, "invalid_token")


def test_an_id_token_is_not_an_access_token(api: str, issuer: Issuer) -> None:
    id_token = issuer.login(issuer.deployment.email)["id_token"]
    refused(call(api, "/messages", id_token), 401, "invalid_token")


def test_tokens_for_an_api_never_carry_the_factor_scopes(issuer: Issuer) -> None:
    """The SDK's default for another audience leaves them out; asking for them is refused, so an
    API cannot replay a token it was given at Protekt's /mfa endpoints."""
    credentials = {"username": issuer.deployment.email, "password": PASSWORD}
    tokens = issuer.sdk.authentication.login(credentials)
    assert tokens["scope"] == "openid email"
    with pytest.raises(ProtektError) as refused_scope:
        issuer.sdk.authentication.login({**credentials, "scope": "openid enroll"})
    assert (refused_scope.value.error, refused_scope.value.status) == ("invalid_scope", 400)
