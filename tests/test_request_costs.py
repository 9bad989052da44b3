"""What one request costs the database and Redis, per token-endpoint grant: a ceiling per scenario.

Counted for one request through the app (Flask's test client, in process), after its set-up and
one warm-up request, so one-time work (loading the signing keys, Redis loading a Lua script) is
left out:

* SQL statements: every statement SQLAlchemy sends (``before_cursor_execute``);
* commits: every transaction committed (the engine's ``commit`` event);
* Redis round trips: every command, where a pipeline or a Lua script (EVALSHA) is one.

Why: each statement and round trip is a wait on the network under load, and a commit is one too,
and a wait for the disk when it writes; a request that does the same work with fewer of them is
faster and lets the database serve more. These tests fail when a count grows above its ceiling in
CEILINGS, with the measured counts and the statements in the message.

Updating: when the code gets cheaper, lower the row to the new counts; every test prints its
counts and what it spent, in order (``pytest tests/test_request_costs.py -q -rP`` shows them).
Raise a row only for a reason you can name in the commit message (a new check the request must
make), never to make a test pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from authserver.extensions import db, services
from tests.conftest import (
    GRANT_URI,
    EnrolledUser,
    RegisteredClient,
    enroll,
    mfa_token,
    password_login,
    token,
)
from tests.costs import Costs, counting
from tests.hosted.conftest import CALLBACK, Browser, Request, back_at_app, exchange

# CEILINGS, not targets: a request may cost less than its row, never more. Lower a row as soon as
# the code gets cheaper, so the gain is kept; never raise one without a reason. The comment on each
# row is what the request cost on PostgreSQL before the use cases got one module and one commit
# each (6bbd02c). /mfa/challenge makes one Redis round trip more than then: the shared cache's
# generation (authserver.cache), read once per request instead of the client and the MFA settings.
CEILINGS: list[tuple[str, int, int, int]] = [
    # (scenario, sql_statements, commits, redis_round_trips)
    ("client_credentials", 0, 0, 1),      # was 1, 0, 1
    ("password", 5, 1, 5),                # was 7, 1, 5
    ("password_mfa_required", 6, 1, 6),   # was 7, 1, 6
    ("mfa_otp", 6, 1, 9),                 # was 10, 2, 11
    ("mfa_challenge", 3, 1, 2),           # was 5, 1, 1
    ("refresh_token", 6, 1, 1),           # was 9, 1, 1
    ("authorization_code", 1, 1, 6),      # was 2, 1, 6
    ("jwks", 0, 0, 0),
    ("openid_configuration", 0, 0, 0),
]
CEILING = {scenario: tuple(counts) for scenario, *counts in CEILINGS}

Send = Callable[[], Any]


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only, production's database: SQLite's counts differ (it inserts the two audit
    events of an mfa_required answer one by one, where PostgreSQL batches them)."""
    return postgres_url


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app, checking for rotated signing keys once an hour instead of every 30 seconds:
    that check is one statement a process makes per interval, not per request, and would
    otherwise land in whichever request happens to run when it is due."""
    return make_app(PROTEKT_KEYS_REFRESH_INTERVAL="3600")


def assert_within_ceiling(scenario: str, costs: Costs) -> None:
    measured, ceiling = costs.counts(), CEILING[scenario]
    print(f"{scenario}: (statements, commits, redis) = {measured}, ceiling {ceiling}\n"
          f"{costs.listing()}")
    over = any(m > c for m, c in zip(measured, ceiling, strict=True))
    assert not over, (
        f"{scenario}: measured (statements, commits, redis) = {measured}, above the ceiling "
        f"{ceiling}; the request now spends:\n{costs.listing()}"
    )


def measure(app: Flask, send: Send, status: int) -> Costs:
    """The costs of one request, which must answer status."""
    with counting(app) as costs:
        response = send()
    assert response.status_code == status, response.get_data(as_text=True)
    return costs


def warm_then_measure(app: Flask, send: Send, status: int) -> Costs:
    """One warm-up request, then the same request measured."""
    assert send().status_code == status
    return measure(app, send, status)


# the meter ------------------------------------------------------------------------------------

def test_the_meter_counts_statements_commits_and_round_trips_only_inside_its_block(
        app: Flask) -> None:
    def spend() -> None:
        with app.app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()
            services.store.ping()
            pipe = services.store._redis.pipeline()
            pipe.ping().ping().execute()

    with counting(app) as costs:
        spend()
    assert costs.counts() == (1, 1, 2), costs.listing()
    spend()
    assert costs.counts() == (1, 1, 2), "the listeners and wrappers outlived the block"


def test_a_token_request_is_counted(app: Flask, client: FlaskClient, web_app: RegisteredClient,
                                    user: Any) -> None:
    costs = measure(app, lambda: password_login(client, web_app), 200)
    statements, commits, round_trips = costs.counts()
    assert statements > 0 and commits > 0 and round_trips > 0, costs.listing()


# the token endpoint ---------------------------------------------------------------------------

def test_client_credentials(app: Flask, client: FlaskClient, make_client: Any) -> None:
    machine = make_client(grant_types=["client_credentials"], scopes=["read:reports"])
    data = {"grant_type": "client_credentials", "scope": "read:reports"}
    costs = warm_then_measure(app, lambda: token(client, data, auth=machine.basic), 200)
    assert_within_ceiling("client_credentials", costs)


def test_password(app: Flask, client: FlaskClient, web_app: RegisteredClient, user: Any) -> None:
    costs = warm_then_measure(app, lambda: password_login(client, web_app), 200)
    assert_within_ceiling("password", costs)


def test_password_mfa_required(app: Flask, client: FlaskClient, web_app: RegisteredClient,
                               mfa_user: EnrolledUser) -> None:
    costs = warm_then_measure(app, lambda: password_login(client, web_app), 403)
    assert_within_ceiling("password_mfa_required", costs)


def otp_login(client: FlaskClient, web_app: RegisteredClient, enrolled: EnrolledUser,
              email: str) -> Send:
    """The mfa-otp request of a fresh mfa_token and the authenticator's next code."""
    data = {"grant_type": GRANT_URI + "mfa-otp", "otp": enrolled.device.next_code(),
            "mfa_token": mfa_token(client, web_app, username=email)}
    return lambda: token(client, data, auth=web_app.basic)


def test_mfa_otp(app: Flask, client: FlaskClient, web_app: RegisteredClient,
                 mfa_user: EnrolledUser, make_user: Any) -> None:
    # The warm-up is another user's login: a second code of Ann's would wait for the clock.
    make_user("bob@example.org")
    bob = enroll(client, web_app, username="bob@example.org")
    assert otp_login(client, web_app, bob, "bob@example.org")().status_code == 200
    costs = measure(app, otp_login(client, web_app, mfa_user, "ann@example.org"), 200)
    assert_within_ceiling("mfa_otp", costs)


def test_mfa_challenge(app: Flask, client: FlaskClient, web_app: RegisteredClient,
                       mfa_user: EnrolledUser) -> None:
    def challenge() -> Send:
        data = {"mfa_token": mfa_token(client, web_app), "challenge_type": "otp"}
        return lambda: client.post("/mfa/challenge", data=data, auth=web_app.basic)

    assert challenge()().status_code == 200
    assert_within_ceiling("mfa_challenge", measure(app, challenge(), 200))


def test_refresh_token(app: Flask, client: FlaskClient, web_app: RegisteredClient,
                       user: Any) -> None:
    def refresh(body: dict[str, Any]) -> Send:
        data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        return lambda: token(client, data, auth=web_app.basic)

    warm = refresh(password_login(client, web_app).get_json())()
    assert warm.status_code == 200
    assert_within_ceiling("refresh_token", measure(app, refresh(warm.get_json()), 200))


def test_authorization_code(app: Flask, client: FlaskClient, make_client: Any,
                            user: Any) -> None:
    rp = make_client(name="Web app", redirect_uris=[CALLBACK])

    def code_exchange() -> Send:
        """A sign-in in a browser of its own, and the exchange of its code."""
        request = Request(rp)
        code = back_at_app(Browser(app.test_client()).sign_in(request), request)["code"]
        return lambda: exchange(client, request, code)

    assert code_exchange()().status_code == 200
    assert_within_ceiling("authorization_code", measure(app, code_exchange(), 200))


# the discovery documents ----------------------------------------------------------------------

def test_jwks(app: Flask, client: FlaskClient) -> None:
    costs = warm_then_measure(app, lambda: client.get("/.well-known/jwks.json"), 200)
    assert_within_ceiling("jwks", costs)


def test_openid_configuration(app: Flask, client: FlaskClient) -> None:
    costs = warm_then_measure(app, lambda: client.get("/.well-known/openid-configuration"), 200)
    assert_within_ceiling("openid_configuration", costs)
