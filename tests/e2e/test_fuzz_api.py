"""Schemathesis drives the public API (token, revocation, UserInfo, the MFA endpoints,
discovery, /authorize and /logout) from its OpenAPI document, against ``protekt serve`` on
PostgreSQL (tests/e2e/fuzzing.py; allowances in tests/fuzz/api.toml). The client may use every
grant; the Bearer token is a password-only login's, with the factor scopes."""

from __future__ import annotations

import json

from tests.conftest import MFA_SCOPE
from tests.e2e.conftest import PASSWORD, Deployment
from tests.e2e.fuzzing import fuzz

GRANTS = "password,refresh_token,client_credentials,authorization_code,mfa-otp,mfa-oob," \
         "mfa-recovery-code,mfa-webauthn,passkey"


def test_the_public_api_does_what_its_document_says(deployment: Deployment) -> None:
    made = json.loads(deployment.cli(
        "create-client", "--name", "Fuzzer", "--grant-types", GRANTS, "--redirect-uri",
        "https://app.example/callback", "--json").stdout)
    login = deployment.token(grant_type="password", username=deployment.email,
                             password=PASSWORD, scope=MFA_SCOPE)
    assert login.status_code == 200, login.text
    fuzz(f"{deployment.url}/openapi.json", "api.toml", env={
        "PROTEKT_FUZZ_CLIENT_ID": made["client_id"],
        "PROTEKT_FUZZ_CLIENT_SECRET": made["client_secret"],
        "PROTEKT_FUZZ_BEARER": login.json()["access_token"]})
