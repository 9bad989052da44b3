"""Groups of users and the MFA rule each group sets (README, MFA policies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, new_id, utcnow


class Group(Base):
    """A named set of users. ``mfa_always``: its members answer a second factor at every login,
    whatever the application's rule; ``mfa_factors``: the factors that may answer for them
    (empty: any; ``phishing-resistant`` stands for the passkey factors)."""

    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    mfa_always: Mapped[bool] = mapped_column(Boolean, default=False)
    mfa_factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    """One user in one group."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
