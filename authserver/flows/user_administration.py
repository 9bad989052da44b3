"""What an administrator does to users (README, API): find them, change them, block them, and
take away their factors.

No Flask here: the management API calls it, and the dashboard will. Each change is checked in
full before anything is written, and is committed with its audit event in one transaction.

Ending sessions: every refresh-token family of the user is revoked when the MFA is reset, when
the user is blocked and when the password is changed, so no session opened by a lost device, a
known password or a blocked person outlives the administrator's decision (NIST SP 800-63B
§6.1.2.3: on a lost authenticator, invalidate it and the sessions it could have opened). Access
tokens already issued stay valid until they expire (``access_token_ttl``): they are JWTs that
resource servers check without asking us.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authserver.accounts.consents import Consents
from authserver.accounts.sessions import BrowserSessions
from authserver.accounts.users import (
    Profile,
    UserDirectory,
    check_password,
    checked_email,
    normalize_email,
)
from authserver.audit import AuditLog
from authserver.errors import AccessDenied, InvalidRequest, NotFound
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.inventory import FactorInventory
from authserver.mfa.policy import factor_of
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.trusted_devices import TrustedDevices
from authserver.models import TrustedDevice, User
from authserver.models.base import utcnow
from authserver.tokens.refresh import RefreshTokens

MAX_PAGE_SIZE = 100
BY_ADMIN = "admin"  # mfa.removed by an administrator, not by the user (README, API)


@dataclass(frozen=True)
class Page:
    """One page of a search: ``users`` in email order, of ``total`` matching."""

    users: list[User]
    total: int


class UserAdministration:
    """Searching, changing, blocking and deleting users, and removing their factors."""

    def __init__(self, session: Session, users: UserDirectory, *, authenticators: Authenticators,
                 recovery: RecoveryCodes, refresh_tokens: RefreshTokens,
                 sessions: tuple[BrowserSessions, ...], trusted: TrustedDevices,
                 consents: Consents, audit: AuditLog) -> None:
        self._session = session
        self._users = users
        self._factors = FactorInventory(session, authenticators, recovery)
        self._refresh_tokens = refresh_tokens
        self._sessions = sessions  # the dashboard's and the hosted sign-in's
        self._trusted = trusted
        self._consents = consents
        self._audit = audit

    def create(self, email: str, password: str, *, email_verified: bool = False,
               is_admin: bool = False, profile: Profile | None = None) -> User:
        """A new user (a dashboard administrator with ``is_admin``) by the rules of
        ``UserDirectory.create``; audited ``user.created`` or ``admin.created``."""
        user = self._users.create(email, password, email_verified=email_verified,
                                  is_admin=is_admin, profile=profile)
        self._session.commit()
        return user

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

    def outside_console(self, user_id: str) -> User:
        """The user, unless a dashboard administrator (AccessDenied).

        The management API's machine clients may not change administrators: a client holding
        ``update:users`` and ``delete:authenticators`` could otherwise set an administrator's
        password, remove their factors and sign in to the console, whose second factor is then
        enrolled after the password alone. Administrators are managed in the dashboard and with
        ``protekt create-admin`` (NIST SP 800-63B §6.1.2.3: binding a new authenticator needs
        the subscriber's existing authentication).
        """
        user = self.user(user_id)
        if user.is_admin:
            raise AccessDenied("This user is a dashboard administrator; administrators are "
                               "changed in the dashboard, not through the management API.")
        return user

    def update(self, user_id: str, *, email: str | None = None,
               email_verified: bool | None = None, password: str | None = None,
               blocked: bool | None = None, profile: Profile | None = None) -> User:
        """Change what is given, by the rules of ``UserDirectory.create`` (``protekt
        create-user``); InvalidRequest, with nothing written, when one of them is wrong or the
        email is another user's in any case.

        A new address (not just a new case) is unverified unless ``email_verified`` says
        otherwise: nobody has shown it reaches the user, and ID tokens must not say it does
        (OIDC Core §5.1, ``email_verified``). A new password revokes every refresh token of
        the user: whoever knew the old one may have logged in with it (NIST SP 800-63B
        §6.1.2.3: a replaced authenticator is invalidated with what it opened). ``blocked``
        blocks or unblocks, as :meth:`block` and :meth:`unblock` do, in the same transaction.
        ``profile`` sets the claims it names (OIDC Core §5.1), and ``updated_at`` when one
        changes. Audited ``user.updated`` with the names of the fields that changed, never a
        value.
        """
        email = None if email is None else checked_email(email)
        if password is not None:
            check_password(password)
        user = self.user(user_id)
        changed = self._change_email(user, email, email_verified)
        if password is not None:
            self._users.set_password(user, password)
            self._end_sessions(user)
            changed.append("password")
        if profile:
            changed += self._users.set_profile(user, profile)
        if changed:
            self._audit.record("user.updated", user_id=user_id, fields=changed)
        if blocked is not None:
            self._set_blocked(user, blocked)
        self._session.commit()
        return user

    def block(self, user_id: str) -> User:
        """Refuse the user every token from now on (password, refresh and MFA grants answer
        ``invalid_grant``) and revoke every refresh token. Blocking a blocked user changes
        nothing."""
        user = self.user(user_id)
        self._set_blocked(user, True)
        self._session.commit()
        return user

    def unblock(self, user_id: str) -> User:
        """Let the user log in again. Sessions revoked by the block stay revoked, and a lock
        from failed logins stays until ``protekt unlock-user``: that is another decision."""
        user = self.user(user_id)
        self._set_blocked(user, False)
        self._session.commit()
        return user

    def delete(self, user_id: str) -> None:
        """Delete the user; factors, codes and refresh tokens go with it (ON DELETE CASCADE)."""
        self._session.delete(self.user(user_id))
        self._audit.record("user.deleted", user_id=user_id)
        self._session.commit()

    def revoke_consent(self, user_id: str, client_id: str) -> None:
        """Forget the user's consent to the client: the client asks again at the next sign-in
        (authserver.accounts.consents); NotFound for an unknown user."""
        self.user(user_id)
        self._consents.revoke(user_id, client_id)
        self._session.commit()

    def trusted_devices(self, user_id: str) -> list[TrustedDevice]:
        """The browsers the user asked to be remembered, live ones only."""
        self.user(user_id)
        return self._trusted.of_user(user_id)

    def forget_device(self, user_id: str, device_id: str | None = None) -> None:
        """Forget one remembered browser, or all of them; audited ``device.forgotten``."""
        self.user(user_id)
        if device_id is None:
            self._trusted.revoke_all(user_id)
        else:
            self._trusted.revoke(user_id, device_id)
        self._audit.record("device.forgotten", user_id=user_id, device_id=device_id or "all")
        self._session.commit()

    def authenticators(self, user_id: str) -> list[dict[str, Any]]:
        """The user's factors as ``GET /mfa/authenticators`` shows them to the user (README, API):
        phone numbers masked, the recovery codes left as one entry."""
        self.user(user_id)
        return self._factors.listing(user_id)

    def remove_authenticator(self, user_id: str, authenticator_id: str) -> None:
        """Remove one of the user's authenticators by the user's own rule: removing the last
        active one voids the recovery codes. NotFound for another user's authenticator."""
        user = self.user(user_id)
        authenticator = self._factors.find(user_id, authenticator_id)
        factor = factor_of(authenticator)
        self._factors.remove(authenticator)
        self._end_browser_sessions(user)  # what the factor opened ends with it
        self._audit.record("mfa.removed", user_id=user_id, by=BY_ADMIN,
                           authenticator_id=authenticator_id, factor=factor)
        self._session.commit()

    def reset_mfa(self, user_id: str) -> int:
        """Remove every factor and recovery code, revoke every refresh token; the number of
        factors removed. The user logs in with the password alone until enrolling again."""
        user = self.user(user_id)
        removed = self._factors.remove_all(user_id)
        self._end_sessions(user)
        self._audit.record("mfa.reset", user_id=user_id, removed=removed)
        self._session.commit()
        return removed

    def _change_email(self, user: User, email: str | None,
                      email_verified: bool | None) -> list[str]:
        """Set the (checked) email and the verified flag; the names of those that changed."""
        changed = []
        if email is not None and email != user.email:
            if normalize_email(email) != user.email_normalized and email_verified is None:
                email_verified = False
            self._users.set_email(user, email)
            changed.append("email")
        if email_verified is not None and email_verified != user.email_verified:
            user.email_verified = email_verified
            changed.append("email_verified")
        return changed

    def _end_sessions(self, user: User) -> int:
        """End everything the user's credentials opened: every refresh token (the number
        revoked), every browser session and every remembered browser (NIST SP 800-63B
        §6.1.2.3)."""
        self._end_browser_sessions(user)
        self._trusted.revoke_all(user.id)
        return self._refresh_tokens.revoke_user(user.id)

    def _end_browser_sessions(self, user: User) -> None:
        """End the user's sign-in sessions of the hosted pages and, for an administrator, of
        the console."""
        for sessions in self._sessions:
            sessions.end_all(user.id)

    def _set_blocked(self, user: User, blocked: bool) -> None:
        """Block (revoking every refresh token) or unblock, audited; nothing if already so."""
        if blocked == user.blocked:
            return
        if blocked:
            user.blocked_at = utcnow()
            revoked = self._end_sessions(user)
            self._audit.record("user.blocked", user_id=user.id, sessions_revoked=revoked)
        else:
            user.blocked_at = None
            self._audit.record("user.unblocked", user_id=user.id)


def _escaped(text: str) -> str:
    """``text`` matched literally by LIKE: its wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
