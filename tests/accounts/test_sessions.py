"""Browser sessions (dashboard and sign-in) in the real store: idle and absolute ends, sign-out
that a racing request cannot undo, only digests kept, and how the user authenticated."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

from authserver.accounts.sessions import BrowserSessions
from authserver.store import Store, open_store
from tests.support import REDIS_TIMEOUT


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[Store]:
    yield open_store(redis_url, redis_prefix, REDIS_TIMEOUT)


def test_a_session_is_found_until_it_ends(store: Store) -> None:
    sessions = BrowserSessions(store.namespace("dashboard-session"))
    session_id = sessions.start("admin-id", time.time())
    found = sessions.find(session_id)
    assert found is not None and found.user_id == "admin-id"
    sessions.end(session_id)
    assert sessions.find(session_id) is None


def test_a_request_racing_the_sign_out_cannot_bring_the_session_back(store: Store) -> None:
    records = store.namespace("dashboard-session")
    sessions = BrowserSessions(records)
    session_id = sessions.start("admin-id", time.time())
    assert sessions.find(session_id) is not None  # a request reads the session...
    sessions.end(session_id)  # ...a sign-out ends it...
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    records.put(f"seen:{digest}", b"1", 60)  # ...and the request renews its mark after that
    assert sessions.find(session_id) is None


def test_an_idle_session_ends(store: Store) -> None:
    sessions = BrowserSessions(store.namespace("dashboard-session"), idle=1, absolute=60)
    session_id = sessions.start("admin-id", time.time())
    time.sleep(0.6)
    assert sessions.find(session_id) is not None  # a request renews the idle time
    time.sleep(0.6)
    assert sessions.find(session_id) is not None
    time.sleep(1.3)
    assert sessions.find(session_id) is None


def test_a_session_ends_at_its_absolute_lifetime_however_busy(store: Store) -> None:
    sessions = BrowserSessions(store.namespace("dashboard-session"), idle=60, absolute=1)
    session_id = sessions.start("admin-id", time.time())
    time.sleep(0.6)
    assert sessions.find(session_id) is not None
    time.sleep(0.6)
    assert sessions.find(session_id) is None


def test_end_all_ends_every_session_begun_before_it_and_none_after(store: Store) -> None:
    sessions = BrowserSessions(store.namespace("dashboard-session"))
    mine = [sessions.start("admin-id", time.time()) for _ in range(2)]
    checking = time.time()  # a sign-in whose code is being checked...
    other = sessions.start("other-admin", time.time())
    sessions.end_all("admin-id")  # ...when another administrator resets this one
    late = sessions.start("admin-id", checking)
    fresh = sessions.start("admin-id", time.time() + 0.001)
    assert [sessions.find(s) for s in (*mine, late)] == [None, None, None]
    assert sessions.find(other) is not None and sessions.find(fresh) is not None


@pytest.mark.parametrize("session_id", ["", "x" * 101, "not-a-session"])
def test_a_malformed_or_unknown_id_is_no_session(store: Store, session_id: str) -> None:
    assert BrowserSessions(store.namespace("dashboard-session")).find(session_id) is None


def test_a_session_keeps_how_the_user_authenticated_and_names_itself_by_digest(
        store: Store) -> None:
    sessions = BrowserSessions(store.namespace("sso-session"))
    session_id = sessions.start("user-id", time.time(), ("pwd", "otp", "mfa"))
    found = sessions.find(session_id)
    assert found is not None
    assert found.amr == ("pwd", "otp", "mfa")
    assert found.key == hashlib.sha256(session_id.encode()).hexdigest()
