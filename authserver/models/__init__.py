"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from authserver.models.audit_event import AuditEvent
from authserver.models.authenticator import Authenticator
from authserver.models.base import Base
from authserver.models.client import Client, hash_client_secret
from authserver.models.consent import Consent
from authserver.models.group import Group, GroupMember
from authserver.models.known_context import KnownContext
from authserver.models.mfa_settings import MfaSettingsRow, SmsCreditBalance
from authserver.models.recovery_code import RecoveryCode
from authserver.models.refresh_token import RefreshToken, RefreshTokenFamily
from authserver.models.signing_key import SigningKey
from authserver.models.trusted_device import TrustedDevice
from authserver.models.user import User

__all__ = [
    "AuditEvent",
    "Authenticator",
    "Base",
    "Client",
    "Consent",
    "Group",
    "GroupMember",
    "KnownContext",
    "MfaSettingsRow",
    "RecoveryCode",
    "RefreshToken",
    "RefreshTokenFamily",
    "SigningKey",
    "SmsCreditBalance",
    "TrustedDevice",
    "User",
    "hash_client_secret",
]
