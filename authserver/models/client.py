"""OAuth clients (RFC 6749 §2): the applications that call the token endpoint."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


def hash_client_secret(secret: str) -> str:
    """SHA-256 of a generated 256-bit secret: enough for high-entropy values (no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(Base):
    """A registered client. Implements the methods Authlib's ClientMixin asks for."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # None for a public client (RFC 6749 §2.1), which authenticates with method "none".
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison of digests (RFC 6749 §10.1 asks secrets be protected)."""
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, hash_client_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Public clients use "none"; confidential ones a secret, by Basic or in the body."""
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types
