"""Second factors a user enrolled: authenticator apps (TOTP), phone numbers for SMS, and
WebAuthn credentials (passkeys and security keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, new_id, utcnow


class Authenticator(Base):
    """One enrolled factor. Pending (``active`` False) until the user proves it with a code."""

    __tablename__ = "authenticators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # "otp" (an authenticator app), "oob" (a code sent out of band, over oob_channel), or
    # "webauthn-platform" / "webauthn-roaming" (a WebAuthn credential).
    type: Mapped[str] = mapped_column(String(32))
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
    # WebAuthn (W3C WebAuthn Level 3 §6.5.1): the credential's id and COSE public key (neither is
    # secret), its signature counter (§6.1.1), transports, backup flags (§6.1.3) and AAGUID.
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary, index=True, unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sign_count: Mapped[int | None] = mapped_column(BigInteger)
    transports: Mapped[list[str] | None] = mapped_column(JSON)
    backup_eligible: Mapped[bool | None] = mapped_column(Boolean)
    backed_up: Mapped[bool | None] = mapped_column(Boolean)
    aaguid: Mapped[str | None] = mapped_column(String(36))
