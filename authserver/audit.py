"""The audit trail: one row per security-relevant event, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from authserver.models import AuditEvent


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
        **detail: Any,
    ) -> None:
        """Add an event. ``detail`` must never hold a password, code, token or secret."""
        self._session.add(
            AuditEvent(type=event_type, user_id=user_id, client_id=client_id, ip=ip, detail=detail)
        )
