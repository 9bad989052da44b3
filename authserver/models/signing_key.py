"""Token signing keys (RFC 7517): public part as a JWK, private part encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class SigningKey(Base):
    __tablename__ = "signing_keys"

    # RFC 7638 thumbprint of the public key.
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    # PKCS#8 PEM sealed by authserver.encryption (AES-256-GCM).
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a newer key takes over signing; published until its tokens have expired.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
