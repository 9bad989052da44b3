"""Refresh tokens, grouped in families: every token descended from one login (RFC 9700 §4.14.2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authserver.models.base import Base, UTCDateTime, new_id, utcnow


class RefreshTokenFamily(Base):
    """What one login granted; revoking the family revokes every token in it."""

    __tablename__ = "refresh_token_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    audience: Mapped[list[str]] = mapped_column(JSON)
    amr: Mapped[list[str]] = mapped_column(JSON)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Absolute lifetime: no token of the family outlives this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last exchange of one of its tokens; writing it locks the family row during a rotation.
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The browser sign-in session (SHA-256 of its id) that opened the family, if any: logging
    # out of that session revokes the family (OIDC RP-Initiated Logout 1.0).
    sso_session: Mapped[str | None] = mapped_column(String(64), index=True, default=None)


class RefreshToken(Base):
    """One refresh token, stored only as the SHA-256 of its value."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("refresh_token_families.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Idle lifetime: unused until then, the token expires.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when exchanged; presenting it again is reuse, unless it is a retry (tokens/refresh.py).
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The token it was exchanged for, so a retry can tell whether that one was ever used.
    successor_hash: Mapped[str | None] = mapped_column(String(64))

    family: Mapped[RefreshTokenFamily] = relationship(lazy="joined")
