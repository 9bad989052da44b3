"""The MFA settings row: one per deployment, edited by operators (CLI now, dashboard later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authserver.models.base import Base, UTCDateTime, utcnow


class SmsCreditBalance(Base):
    """The SMS credits left: debited atomically per segment sent (authserver.sms.credits)."""

    __tablename__ = "sms_credits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


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
    sms_template: Mapped[str] = mapped_column(String(500))
    sms_confirm_phone: Mapped[bool] = mapped_column(Boolean)
    sms_code_minutes: Mapped[int] = mapped_column(Integer)
    sms_resend_cooldown: Mapped[int] = mapped_column(Integer)
    sms_user_hourly: Mapped[int] = mapped_column(Integer)
    sms_phone_hourly: Mapped[int] = mapped_column(Integer)
    sms_ip_hourly: Mapped[int] = mapped_column(Integer)
    sms_allowed_countries: Mapped[list[str]] = mapped_column(JSON)
    sms_low_credit_threshold: Mapped[int] = mapped_column(BigInteger)
    webauthn_user_verification: Mapped[str] = mapped_column(String(16))
    passkey_counts_as_mfa: Mapped[bool] = mapped_column(Boolean)
    admins_phishing_resistant: Mapped[bool] = mapped_column(Boolean)
    adaptive_weight_new_device: Mapped[int] = mapped_column(Integer)
    adaptive_weight_new_network: Mapped[int] = mapped_column(Integer)
    adaptive_weight_failures: Mapped[int] = mapped_column(Integer)
    adaptive_weight_common_password: Mapped[int] = mapped_column(Integer)
    adaptive_failures: Mapped[int] = mapped_column(Integer)
    adaptive_medium: Mapped[int] = mapped_column(Integer)
    adaptive_high: Mapped[int] = mapped_column(Integer)
    adaptive_block_high: Mapped[bool] = mapped_column(Boolean)
    adaptive_memory_days: Mapped[int] = mapped_column(Integer)
    remember_device_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
