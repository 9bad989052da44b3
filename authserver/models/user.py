"""Users: people who log in with an email and a password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, new_id, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254))
    # The login name: email case-folded, unique regardless of case.
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # argon2id PHC string (RFC 9106); never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # May sign in to the dashboard (`protekt create-admin`), with a second factor of their own.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set while an administrator blocks the user: no login, refresh or MFA exchange succeeds.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # OIDC Core §5.1 standard claims of the ``profile`` scope; None when not given.
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    given_name: Mapped[str | None] = mapped_column(String(100), default=None)
    family_name: Mapped[str | None] = mapped_column(String(100), default=None)
    preferred_username: Mapped[str | None] = mapped_column(String(100), default=None)
    picture: Mapped[str | None] = mapped_column(String(2000), default=None)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)  # BCP 47 tag
    # Last change of the profile claims (OIDC Core §5.1 ``updated_at``).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def blocked(self) -> bool:
        return self.blocked_at is not None
