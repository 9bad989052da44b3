"""What an administrator does to users (API.md §4): find them, and end what they hold.

No Flask here: the management API calls it, and the dashboard will. Resetting a user's MFA
removes every factor and recovery code and revokes every refresh token of the user, so no
session that a lost or stolen device opened outlives the reset (NIST SP 800-63B §6.1.2.3:
on a lost authenticator, invalidate it and the sessions it could have opened).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import InvalidRequest, NotFound
from authserver.mfa.recovery import RecoveryCodes
from authserver.models import Authenticator, User
from authserver.models.base import utcnow
from authserver.models.refresh_token import RefreshTokenFamily

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of a search: ``users`` in email order, of ``total`` matching."""

    users: list[User]
    total: int


class UserAdministration:
    """Searching, deleting, and resetting the second factors of users."""

    def __init__(self, session: Session, recovery: RecoveryCodes, audit: AuditLog) -> None:
        self._session = session
        self._recovery = recovery
        self._audit = audit

    def search(self, text: str, page: int, per_page: int) -> Page:
        """Users whose email contains ``text`` (any case), page by page from 0."""
        if page < 0 or not 1 <= per_page <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"page must be 0 or more, per_page 1 to {MAX_PAGE_SIZE}.")
        pattern = f"%{_escaped(text.strip().casefold())}%"
        matching = select(User).where(User.email_normalized.like(pattern, escape="\\"))
        total = self._session.scalar(select(func.count()).select_from(matching.subquery()))
        users = self._session.scalars(
            matching.order_by(User.email_normalized).limit(per_page).offset(page * per_page)
        ).all()
        return Page(list(users), int(total or 0))

    def user(self, user_id: str) -> User:
        user = self._session.get(User, user_id)
        if user is None:
            raise NotFound("No user has this id.")
        return user

    def delete(self, user_id: str) -> None:
        """Delete the user; factors, codes and refresh tokens go with it (ON DELETE CASCADE)."""
        self._session.delete(self.user(user_id))
        self._audit.record("user.deleted", user_id=user_id)
        self._session.commit()

    def reset_mfa(self, user_id: str) -> int:
        """Remove every factor and recovery code, revoke every refresh token; the number of
        factors removed. The user logs in with the password alone until enrolling again."""
        self.user(user_id)
        removed = self._session.execute(
            delete(Authenticator).where(Authenticator.user_id == user_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        self._recovery.void(user_id)
        self._session.execute(
            update(RefreshTokenFamily)
            .where(RefreshTokenFamily.user_id == user_id, RefreshTokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        self._audit.record("mfa.reset", user_id=user_id, removed=removed)
        self._session.commit()
        return int(removed)


def _escaped(text: str) -> str:
    """``text`` matched literally by LIKE: its wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
