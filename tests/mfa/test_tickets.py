"""mfa_tokens in the store: hashed, bound to a client, expiring readably, consumed once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
import redis

from authserver.errors import ExpiredToken, InvalidGrant, TooManyAttempts
from authserver.mfa.tickets import MfaTickets
from authserver.store import open_store
from tests.support import REDIS_TIMEOUT, run_parallel


@pytest.fixture(params=["redis", "memory"])
def tickets(request: pytest.FixtureRequest) -> Iterator[MfaTickets]:
    prefix = f"protekt-test-{secrets.token_hex(6)}"
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    yield MfaTickets(open_store(url, prefix, REDIS_TIMEOUT).namespace("mfa-token"))
    if request.param == "redis":
        raw = redis.Redis.from_url(url)
        for key in raw.scan_iter(match=f"{prefix}:*"):
            raw.delete(key)


def issue(tickets: MfaTickets, ttl: int = 600) -> str:
    return tickets.issue(user_id="u1", client_id="c1", scope=("openid",), audience=("api",),
                         purpose="challenge", ttl=ttl)


def test_a_ticket_remembers_what_the_login_asked_for(tickets: MfaTickets) -> None:
    token = issue(tickets)
    ticket = tickets.open(token, "c1")
    assert (ticket.user_id, ticket.client_id, ticket.scope, ticket.audience, ticket.purpose) == (
        "u1", "c1", ("openid",), ("api",), "challenge")
    assert 598 < ticket.seconds_left <= 600
    assert token not in ticket.key  # the store key is a digest


def test_unknown_foreign_and_oversized_tokens_are_invalid_grant(tickets: MfaTickets) -> None:
    token = issue(tickets)
    for bad, client in (("nope", "c1"), (token, "c2"), ("x" * 5000, "c1"), ("", "c1")):
        with pytest.raises(InvalidGrant):
            tickets.open(bad, client)


def test_an_expired_token_is_expired_not_unknown(tickets: MfaTickets) -> None:
    token = issue(tickets, ttl=1)
    time.sleep(1.05)
    with pytest.raises(ExpiredToken):
        tickets.open(token, "c1")


def test_a_ticket_is_consumed_once_among_parallel_callers(tickets: MfaTickets) -> None:
    ticket = tickets.open(issue(tickets), "c1")
    with tickets.exclusive(ticket) as held:
        assert run_parallel(20, lambda: tickets.consume_held(held)).count(True) == 1
    # the lease went back with the ticket: the next holder gets it, and finds the ticket used
    with pytest.raises(InvalidGrant), tickets.exclusive(ticket):
        pass


def test_a_ticket_is_held_by_one_verification_at_a_time(tickets: MfaTickets) -> None:
    ticket = tickets.open(issue(tickets), "c1")
    with tickets.exclusive(ticket), pytest.raises(TooManyAttempts), tickets.exclusive(ticket):
        pass
    with tickets.exclusive(ticket):  # released after use
        pass
