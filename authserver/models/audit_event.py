"""Audit events: who did what, from where, when. Never a password, code or secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # Monitoring counts events of a few types over a span of days (authserver.monitoring).
    __table_args__ = (Index("ix_audit_events_type_created_at", "type", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    # Not foreign keys: the trail outlives the users and clients it mentions.
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
