"""Rows kept per process (authserver.cache): a change applies from the next request in every
process, and no copy outlives MAX_AGE even when the change was never announced."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from authserver.cache import MAX_AGE, SharedCache
from authserver.extensions import db, services
from authserver.models import Client
from authserver.store.memory import MemoryStore
from tests.conftest import RegisteredClient, token


def test_a_change_made_by_one_process_applies_at_the_next_request_of_another(
    make_app: Callable[..., Flask], make_client: Callable[..., RegisteredClient],
) -> None:
    """Two apps on one database and one Redis prefix stand for two server processes."""
    machine = make_client(name="Machine", grant_types=["password"], scopes=["read"])
    one, other = make_app().test_client(), make_app()
    grant = {"grant_type": "client_credentials"}
    assert token(one, grant, auth=machine.basic).status_code == 400  # unauthorized_client, cached
    with other.app_context():
        services.flows.client_administration.update(
            machine.client_id, grant_types=["password", "client_credentials"])
    assert token(one, grant, auth=machine.basic).status_code == 200


def test_a_change_never_announced_is_seen_after_max_age(app: Flask) -> None:
    """The store was unreachable right after the commit: the copy still ages out."""
    now = [1000.0]
    cache = SharedCache(MemoryStore("test").namespace("cache"), clock=lambda: now[0])
    source = ["before"]
    cache.begin()
    assert cache.get("key", lambda: source[0]) == "before"
    source[0] = "after"  # committed elsewhere; no changed() reached this process
    assert cache.get("key", lambda: source[0]) == "before"
    now[0] += MAX_AGE
    assert cache.get("key", lambda: source[0]) == "after"


def test_an_unknown_key_is_not_kept(app: Flask) -> None:
    """Guessing client ids cannot fill the memory, and a client created later is found."""
    with app.app_context():
        assert services.clients.find("no-such-client") is None
        client = Client(client_id="no-such-client", name="Late", grant_types=["password"],
                        scopes=[], audiences=[], redirect_uris=[], post_logout_redirect_uris=[])
        db.session.add(client)
        db.session.commit()
        assert services.clients.find("no-such-client") is not None
