"""Devices and networks a user signed in from (README, MFA policies: adaptive MFA)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class KnownContext(Base):
    """One device or network a user completed a login from. ``value`` is an HMAC-SHA-256 of the
    device id or the IP prefix under a key derived from ``PROTEKT_ENCRYPTION_KEY``: the table
    never holds an address or a device id. Deleted with the user; forgotten after
    ``adaptive_memory_days`` unused."""

    __tablename__ = "known_contexts"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "device", "network"
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
