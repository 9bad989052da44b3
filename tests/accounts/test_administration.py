"""UserAdministration without HTTP: changes checked in full before anything is written, blocking
idempotent and the end of every session, and the one blocked-user rule of the token flows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from authserver.accounts.users import BLOCKED, ensure_not_blocked
from authserver.errors import InvalidGrant, InvalidRequest, NotFound
from authserver.extensions import db, services
from authserver.models import AuditEvent, RefreshTokenFamily, User
from authserver.models.base import utcnow
from tests.conftest import RegisteredClient


def sessions_of(user_id: str, client: RegisteredClient, count: int) -> None:
    """Start ``count`` refresh-token families for the user, as logins would."""
    for _ in range(count):
        services.refresh_tokens.start_family(
            user_id=user_id, client_id=client.client_id, scope="openid", audience=[],
            amr=["pwd"], auth_time=utcnow())
    db.session.commit()


def live_sessions(user_id: str) -> int:
    return len(db.session.scalars(select(RefreshTokenFamily).where(
        RefreshTokenFamily.user_id == user_id, RefreshTokenFamily.revoked_at.is_(None))).all())


def events(kind: str) -> list[dict[str, Any]]:
    return [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.type == kind))]


def test_a_taken_email_leaves_nothing_pending_nor_written(
    app: Flask, user: Any, make_user: Callable[..., Any],
) -> None:
    make_user(email="Bob@Example.org")
    with app.app_context():
        with pytest.raises(InvalidRequest, match="already exists"):
            services.administration.update(user.id, email="bob@example.ORG", email_verified=True,
                                           password="a brand new secret", blocked=True)
        assert not db.session.new and not db.session.dirty
        db.session.expire_all()
        stored = db.session.get_one(User, user.id)
        assert (stored.email, stored.email_verified, stored.blocked) == (
            "ann@example.org", False, False)
        assert stored.password_hash == user.password_hash
        assert events("user.updated") == events("user.blocked") == []


def test_nothing_to_change_records_nothing(app: Flask, user: Any) -> None:
    with app.app_context():
        same = services.administration.update(user.id, email="ann@example.org",
                                              email_verified=False, blocked=False)
        assert same.email == "ann@example.org"
        assert events("user.updated") == events("user.unblocked") == []


def test_a_new_password_is_hashed_and_ends_every_session(
    app: Flask, user: Any, web_app: RegisteredClient,
) -> None:
    with app.app_context():
        sessions_of(user.id, web_app, 2)
        changed = services.administration.update(user.id, password="a brand new secret")
        assert services.hasher.verify(changed.password_hash, "a brand new secret")
        assert live_sessions(user.id) == 0
        assert events("user.updated") == [{"fields": ["password"]}]


def test_blocking_ends_the_users_sessions_only_once_and_not_others(
    app: Flask, user: Any, make_user: Callable[..., Any], web_app: RegisteredClient,
) -> None:
    bob = make_user(email="bob@example.org")
    with app.app_context():
        sessions_of(user.id, web_app, 2)
        sessions_of(bob.id, web_app, 1)
        first = services.administration.block(user.id).blocked_at
        assert first is not None and live_sessions(user.id) == 0 and live_sessions(bob.id) == 1
        assert services.administration.block(user.id).blocked_at == first
        assert events("user.blocked") == [{"sessions_revoked": 2}]
        assert services.administration.unblock(user.id).blocked_at is None
        assert events("user.unblocked") == [{}]


def test_the_token_flows_refuse_a_blocked_user(app: Flask, user: Any) -> None:
    with app.app_context():
        blocked = services.administration.block(user.id)
        with pytest.raises(InvalidGrant, match=BLOCKED):
            ensure_not_blocked(blocked)
        ensure_not_blocked(services.administration.unblock(user.id))


@pytest.mark.parametrize("call", [
    lambda admin, user_id: admin.authenticators("nobody"),
    lambda admin, user_id: admin.remove_authenticator("nobody", "nothing"),
    lambda admin, user_id: admin.remove_authenticator(user_id, "nothing"),
    lambda admin, user_id: admin.update("nobody", email_verified=True),
    lambda admin, user_id: admin.block("nobody"),
    lambda admin, user_id: admin.unblock("nobody"),
])
def test_unknown_users_and_authenticators_are_not_found(
    app: Flask, user: Any, call: Callable[[Any, str], Any],
) -> None:
    with app.app_context(), pytest.raises(NotFound):
        call(services.administration, user.id)
