"""The MFA settings row: one per deployment, edited by operators (CLI now, dashboard later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class MfaSettingsRow(Base):
    """Stored MFA settings; read through authserver.mfa.settings, which holds the defaults."""

    __tablename__ = "mfa_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    factors: Mapped[list[str]] = mapped_column(JSON)
    policy: Mapped[str] = mapped_column(String(16))
    totp_issuer: Mapped[str] = mapped_column(String(64))
    mfa_token_ttl: Mapped[int] = mapped_column(Integer)
    token_max_failures: Mapped[int] = mapped_column(Integer)
    user_failure_burst: Mapped[int] = mapped_column(Integer)
    user_failure_drain: Mapped[int] = mapped_column(Integer)
    user_max_consecutive_failures: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
