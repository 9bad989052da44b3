"""The user directory: creating users, finding them by login name, changing their email and
password, and the one rule every token flow applies to a blocked user."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.accounts.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from authserver.audit import AuditLog
from authserver.errors import InvalidGrant, InvalidRequest
from authserver.models import User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path of 256 octets, less the angle brackets
BLOCKED = "This account is blocked."


def normalize_email(email: str) -> str:
    """The login name: trimmed and case-folded, so that Ann@X.org and ann@x.org are one user."""
    return email.strip().casefold()


def checked_email(email: str) -> str:
    """The email as it will be shown (trimmed); InvalidRequest when it is not an address."""
    email = email.strip()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidRequest("The email address is not valid.")
    return email


def check_password(password: str) -> None:
    """InvalidRequest unless the password has 8 to 1024 characters (NIST SP 800-63B §5.1.1.2)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidRequest(
            f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long."
        )


def ensure_not_blocked(user: User) -> None:
    """``invalid_grant`` (RFC 6749 §5.2) for a user an administrator blocked.

    The password, refresh and MFA grants call this once the credential presented is known to
    be the user's (the right password, a live refresh token of this client, an mfa_token that
    opened): a guesser learns nothing about the block, and a session opened before the block
    cannot be continued after it.
    """
    if user.blocked:
        raise InvalidGrant(BLOCKED)


class UserDirectory:
    """Users in the database."""

    def __init__(self, session: Session, hasher: PasswordHasher, audit: AuditLog) -> None:
        self._session = session
        self._hasher = hasher
        self._audit = audit

    def find_by_email(self, email: str) -> User | None:
        return self._session.scalar(
            select(User).where(User.email_normalized == normalize_email(email))
        )

    def get(self, user_id: str) -> User | None:
        return self._session.get(User, user_id)

    def create(self, email: str, password: str, *, email_verified: bool = False,
               is_admin: bool = False) -> User:
        """Create a user (a dashboard administrator with ``is_admin``); InvalidRequest for a
        malformed email, weak password or taken email."""
        email = checked_email(email)
        check_password(password)
        user = User(email_verified=email_verified, password_hash=self._hasher.hash(password),
                    is_admin=is_admin)
        self._session.add(user)
        self.set_email(user, email)
        self._audit.record("admin.created" if is_admin else "user.created", user_id=user.id)
        self._session.commit()
        return user

    def set_email(self, user: User, email: str) -> None:
        """Give the user this (checked) email as login name; InvalidRequest, and every pending
        change rolled back, when another user has it in any case. The caller commits."""
        user.email = email
        user.email_normalized = normalize_email(email)
        try:
            self._session.flush()
        except IntegrityError:
            self._session.rollback()
            raise InvalidRequest("A user with this email address already exists.") from None

    def set_password(self, user: User, password: str) -> None:
        """Store a hash of the (checked) password, argon2id (RFC 9106). The caller commits."""
        user.password_hash = self._hasher.hash(password)
