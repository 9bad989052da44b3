"""Enrolled factors in the database, and TOTP verification against them.

TOTP secrets and SMS phone numbers are sealed with AES-256-GCM under ``PROTEKT_ENCRYPTION_KEY``
(they must be read back, so they are encrypted rather than hashed), with the
authenticator's id as associated data so a sealed value cannot be moved to another row. An
accepted code records its time step with one conditional UPDATE; a second request with the same
or an older step changes no row and fails (RFC 6238 §5.2), whichever process it reaches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from authserver.encryption import Encryptor
from authserver.mfa import totp
from authserver.models import Authenticator, User
from authserver.models.base import new_id, utcnow
from authserver.sms.phone import PhoneNumber, from_e164

TYPE_OTP = "otp"  # authenticator_type of an authenticator app (README, API)
TYPE_OOB = "oob"  # a code sent out of band, over ``oob_channel``
CHANNEL_SMS = "sms"


class Authenticators:
    """The authenticators of users."""

    def __init__(self, session: Session, encryptor: Encryptor) -> None:
        self._session = session
        self._encryptor = encryptor

    def of_user(self, user_id: str, *, active: bool | None = None) -> list[Authenticator]:
        query = select(Authenticator).where(Authenticator.user_id == user_id)
        if active is not None:
            query = query.where(Authenticator.active.is_(active))
        return list(self._session.scalars(query.order_by(Authenticator.created_at)))

    def has_active(self, user_id: str) -> bool:
        return self._session.scalar(
            select(Authenticator.id)
            .where(Authenticator.user_id == user_id, Authenticator.active.is_(True)).limit(1)
        ) is not None

    def find(self, user_id: str, authenticator_id: str) -> Authenticator | None:
        found = self._session.get(Authenticator, authenticator_id)
        return found if found is not None and found.user_id == user_id else None

    def lock_user(self, user_id: str) -> None:
        """Serialise changes to one user's factors until the caller commits: a write to the
        user's row (PostgreSQL locks the row; SQLite takes its single write lock), so a parallel
        request reads the factors only after this one is done."""
        self._session.execute(
            update(User).where(User.id == user_id)
            .values(email_verified=User.email_verified)
            .execution_options(synchronize_session=False)
        )

    def add_otp(self, user_id: str, name: str) -> tuple[Authenticator, str]:
        """A pending authenticator app and its new secret; the caller commits."""
        secret = totp.new_secret()
        authenticator = Authenticator(id=new_id(), user_id=user_id, type=TYPE_OTP, name=name,
                                      active=False)
        authenticator.secret_ciphertext = self._encryptor.encrypt(
            secret.encode(), self._purpose(authenticator)
        )
        self._session.add(authenticator)
        return authenticator, secret

    def add_sms(self, authenticator_id: str, user_id: str, name: str, number: PhoneNumber, *,
                active: bool) -> Authenticator:
        """A phone for SMS codes, its number sealed; the caller commits."""
        authenticator = Authenticator(id=authenticator_id, user_id=user_id, type=TYPE_OOB,
                                      oob_channel=CHANNEL_SMS, name=name, active=active,
                                      confirmed_at=utcnow() if active else None)
        authenticator.phone_ciphertext = self._encryptor.encrypt(
            number.e164.encode(), self._phone_purpose(authenticator.id)
        )
        self._session.add(authenticator)
        return authenticator

    def phone(self, authenticator: Authenticator) -> PhoneNumber:
        """The number an SMS authenticator sends to."""
        assert authenticator.phone_ciphertext is not None
        e164 = self._encryptor.decrypt(authenticator.phone_ciphertext,
                                       self._phone_purpose(authenticator.id))
        return from_e164(e164.decode())

    def phones(self, user_id: str, *, active: bool | None = None) -> list[PhoneNumber]:
        """The numbers of the user's SMS authenticators."""
        return [self.phone(a) for a in self.of_user(user_id, active=active)
                if a.phone_ciphertext is not None]

    def used(self, authenticator: Authenticator) -> None:
        """Record a successful use; the caller commits."""
        authenticator.last_used_at = utcnow()

    def add_passkey(self, user_id: str, kind: str, name: str) -> Authenticator:
        """A pending WebAuthn authenticator (``webauthn-platform`` or ``webauthn-roaming``),
        given its credential when the browser's registration verifies; the caller commits."""
        authenticator = Authenticator(id=new_id(), user_id=user_id, type=kind, name=name,
                                      active=False)
        self._session.add(authenticator)
        return authenticator

    def drop_pending(self, user_id: str, *authenticator_types: str) -> None:
        """Forget unconfirmed enrollments of these types (a new one replaces them)."""
        for pending in self.of_user(user_id, active=False):
            if pending.type in authenticator_types:
                self._session.delete(pending)

    def accept_otp(self, candidates: Iterable[Authenticator], code: str) -> Authenticator | None:
        """The first candidate whose code this is, its step recorded; None otherwise.

        The caller commits; until then the authenticator's row stays locked, so a parallel
        request with the same code waits and then finds the step used.
        """
        now = time.time()
        for authenticator in candidates:
            if authenticator.type != TYPE_OTP or authenticator.secret_ciphertext is None:
                continue
            step = totp.matching_step(self._key(authenticator), code, now)
            if step is not None and self._record_step(authenticator, step):
                return authenticator
        return None

    def activate(self, authenticator: Authenticator) -> None:
        """Confirmed by a first code; the caller commits."""
        authenticator.active = True
        authenticator.confirmed_at = utcnow()

    def _record_step(self, authenticator: Authenticator, step: int) -> bool:
        result = self._session.execute(
            update(Authenticator)
            .where(Authenticator.id == authenticator.id,
                   or_(Authenticator.last_used_step.is_(None),
                       Authenticator.last_used_step < step))
            .values(last_used_step=step, last_used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def _key(self, authenticator: Authenticator) -> bytes:
        assert authenticator.secret_ciphertext is not None
        secret = self._encryptor.decrypt(authenticator.secret_ciphertext,
                                         self._purpose(authenticator))
        return totp.secret_key(secret.decode())

    @staticmethod
    def _purpose(authenticator: Authenticator) -> str:
        return f"totp-secret:{authenticator.id}"

    @staticmethod
    def _phone_purpose(authenticator_id: str) -> str:
        return f"sms-phone:{authenticator_id}"
