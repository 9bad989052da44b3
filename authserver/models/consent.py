"""Consents: the scopes a user granted a third-party client on the hosted consent page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class Consent(Base):
    """What the user allowed the client to have (OIDC Core §3.1.2.4); revocable."""

    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True, index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
