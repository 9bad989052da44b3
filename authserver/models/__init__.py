"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from authserver.models.audit_event import AuditEvent
from authserver.models.base import Base
from authserver.models.client import Client, hash_client_secret
from authserver.models.refresh_token import RefreshToken, RefreshTokenFamily
from authserver.models.signing_key import SigningKey
from authserver.models.user import User

__all__ = [
    "AuditEvent",
    "Base",
    "Client",
    "RefreshToken",
    "RefreshTokenFamily",
    "SigningKey",
    "User",
    "hash_client_secret",
]
