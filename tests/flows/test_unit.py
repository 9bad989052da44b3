"""The unit of work's rule for refusals: a refusal keeps its audit events, an outage keeps
nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from authserver.errors import InvalidGrant, ProtektError
from authserver.extensions import db, services
from authserver.flows.unit import refusals_kept
from authserver.models import AuditEvent
from authserver.store import StoreUnavailable


def _recorded(app: Flask, event: str) -> bool:
    with app.app_context():
        return db.session.scalar(select(AuditEvent).where(AuditEvent.type == event)) is not None


@pytest.mark.parametrize(("refusal", "kept"), [
    (InvalidGrant("The code is wrong."), True),
    (StoreUnavailable(detail="redis: ConnectionError"), False),
])
def test_a_refusal_keeps_its_audit_event_and_an_outage_keeps_nothing(
    app: Flask, refusal: ProtektError, kept: bool,
) -> None:
    with app.app_context(), pytest.raises(type(refusal)), refusals_kept(db.session):
        services.audit.record("test.attempt")
        raise refusal
    assert _recorded(app, "test.attempt") is kept
