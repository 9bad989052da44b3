"""Schemathesis drives the management API from its own OpenAPI document, against ``protekt
serve`` on PostgreSQL (tests/e2e/fuzzing.py; allowances in tests/fuzz/management.toml)."""

from __future__ import annotations

import json

import requests

from tests.e2e.conftest import Deployment
from tests.e2e.fuzzing import fuzz

SCOPES = ("read:settings update:settings read:sms_credits update:sms_credits read:users "
          "create:users update:users delete:users delete:authenticators read:clients "
          "create:clients update:clients delete:clients read:audit")


def operator_token(deployment: Deployment) -> str:
    audience = f"{deployment.url}/api/v2/"
    made = deployment.cli("create-client", "--name", "Fuzzer", "--grant-types",
                          "client_credentials", "--scopes", SCOPES, "--audiences", audience,
                          "--json")
    ops = json.loads(made.stdout)
    answer = requests.post(f"{deployment.url}/oauth/token", timeout=30,
                           auth=(ops["client_id"], ops["client_secret"]),
                           data={"grant_type": "client_credentials", "scope": SCOPES,
                                 "audience": audience})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_management_api_does_what_its_document_says(deployment: Deployment) -> None:
    fuzz(f"{deployment.url}/api/v2/openapi.json", "management.toml",
         headers=(f"Authorization: Bearer {operator_token(deployment)}",))
