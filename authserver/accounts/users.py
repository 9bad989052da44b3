"""The user directory: creating users and finding them by login name."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.accounts.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from authserver.audit import AuditLog
from authserver.errors import InvalidRequest
from authserver.models import User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalize_email(email: str) -> str:
    """The login name: trimmed and case-folded, so that Ann@X.org and ann@x.org are one user."""
    return email.strip().casefold()


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

    def create(self, email: str, password: str, *, email_verified: bool = False) -> User:
        """Create a user; InvalidRequest for a malformed email, weak password or taken email."""
        email = email.strip()
        if len(email) > 254 or not _EMAIL.match(email):
            raise InvalidRequest("The email address is not valid.")
        if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
            raise InvalidRequest(
                f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long."
            )
        user = User(
            email=email,
            email_normalized=normalize_email(email),
            email_verified=email_verified,
            password_hash=self._hasher.hash(password),
        )
        self._session.add(user)
        try:
            self._session.flush()
        except IntegrityError:
            self._session.rollback()
            raise InvalidRequest("A user with this email address already exists.") from None
        self._audit.record("user.created", user_id=user.id)
        self._session.commit()
        return user
