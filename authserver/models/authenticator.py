"""Second factors a user enrolled: authenticator apps (TOTP) and phone numbers for SMS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, new_id, utcnow


class Authenticator(Base):
    """One enrolled factor. Pending (``active`` False) until the user proves it with a code."""

    __tablename__ = "authenticators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # "otp" (an authenticator app) or "oob" (a code sent out of band, over oob_channel).
    type: Mapped[str] = mapped_column(String(16))
    oob_channel: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    # TOTP: the shared secret, AES-256-GCM sealed (authserver.encryption); never stored plain.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # SMS: the E.164 number, AES-256-GCM sealed like the secret (it is read back to send).
    phone_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP: the last time step accepted; only a later one is accepted next (RFC 6238 §5.2).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
