"""The audit trail: one row per security-relevant event, written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from authserver.errors import InvalidRequest
from authserver.models import AuditEvent
from authserver.models.base import utcnow

MAX_PAGE_SIZE = 100
MAX_EVENT_ID = 2**31 - 1  # audit_events.id is an INTEGER; PostgreSQL refuses larger literals


class AuditLog:
    """Records events; the caller's commit makes them durable with the change they describe."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self,
        event_type: str,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        created_at: datetime | None = None,
        **detail: Any,
    ) -> None:
        """Add an event. ``detail`` must never hold a password, code, token or secret.

        ``created_at`` (aware) is when it happened, if not now: for events replayed from
        elsewhere, and for tests of what reads the trail by day (authserver.monitoring).
        """
        self._session.add(
            AuditEvent(type=event_type, user_id=user_id, client_id=client_id, ip=ip,
                       created_at=created_at or utcnow(), detail=detail)
        )

    def latest(self, *, user_id: str | None, event_type: str | None, before: int | None,
               limit: int) -> list[AuditEvent]:
        """Events newest first, optionally of one user and one type; ``before`` an event id, to
        page back through the trail (keyset paging: new events never shift a page)."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be 1 to {MAX_PAGE_SIZE}.")
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        if event_type is not None:
            query = query.where(AuditEvent.type == event_type)
        if before is not None and before <= MAX_EVENT_ID:  # beyond every id: no bound at all
            query = query.where(AuditEvent.id < before)
        return list(self._session.scalars(query).all())
