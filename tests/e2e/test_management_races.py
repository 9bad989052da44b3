"""Parallel management calls on one client, through ``protekt serve`` on PostgreSQL: a delete
racing a change or a secret rotation gives each call a clean answer (success or 404), never a
500, and nothing is written to a client once it is gone."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Deployment
from tests.support import run_parallel

SCOPES = "create:clients update:clients delete:clients read:clients"
ROUNDS = 12


@pytest.fixture(scope="module")
def operator(deployment: Deployment) -> dict[str, str]:
    """A bearer header of a machine client with the client-management scopes."""
    made = deployment.cli("create-client", "--name", "Ops", "--grant-types",
                          "client_credentials", "--scopes", SCOPES, "--audiences",
                          f"{deployment.url}/api/v2/", "--json")
    ops = json.loads(made.stdout)
    answer = requests.post(f"{deployment.url}/oauth/token", timeout=30,
                           auth=(ops["client_id"], ops["client_secret"]),
                           data={"grant_type": "client_credentials", "scope": SCOPES,
                                 "audience": f"{deployment.url}/api/v2/"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def call(deployment: Deployment, headers: dict[str, str], method: str,
         path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{deployment.url}/api/v2{path}", json=body,
                            headers=headers, timeout=30)


def race(deployment: Deployment, headers: dict[str, str],
         requests_made: list[tuple[str, str, Any]]) -> list[requests.Response]:
    """Send the requests at the same instant, one thread each."""
    waiting = list(requests_made)
    return run_parallel(len(waiting),
                        lambda: call(deployment, headers, *waiting.pop()))


@pytest.mark.parametrize("change", [
    ("PATCH", "", {"grant_types": ["password", "refresh_token"]}),
    ("POST", "/rotate-secret", None),
])
def test_a_delete_racing_a_change_gives_clean_answers(
        deployment: Deployment, operator: dict[str, str],
        change: tuple[str, str, Any]) -> None:
    method, suffix, body = change
    for _ in range(ROUNDS):
        made = call(deployment, operator, "POST", "/clients", {"name": "Raced"})
        assert made.status_code == 201, made.text
        path = f"/clients/{made.json()['client_id']}"
        answers = race(deployment, operator, [("DELETE", path, None),
                                              (method, path + suffix, body)] * 2)
        statuses = sorted(a.status_code for a in answers)
        assert all(s < 500 for s in statuses), [(a.status_code, a.text) for a in answers]
        assert statuses.count(204) == 1, statuses  # one delete wins
        for answer in answers:
            assert answer.status_code in (200, 204, 404), answer.text
            if answer.status_code == 404:
                assert answer.json()["error"] == "not_found"
        assert call(deployment, operator, "GET", path).status_code == 404
