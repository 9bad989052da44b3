"""The user directory: creating users, finding them by login name, changing their email,
password and profile, and the one rule every token flow applies to a blocked user."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.accounts.addresses import checked_email
from authserver.accounts.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from authserver.audit import AuditLog
from authserver.errors import Conflict, InvalidGrant, InvalidRequest
from authserver.models import User
from authserver.models.base import utcnow

BLOCKED = "This account is blocked."
# OIDC Core §5.1: the profile claims an administrator sets, and the most characters of each.
PROFILE_CLAIMS: dict[str, int] = {"name": 200, "given_name": 100, "family_name": 100,
                                  "preferred_username": 100, "picture": 2000, "locale": 35}
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # BCP 47 (RFC 5646), simplified


def normalize_email(email: str) -> str:
    """The login name: trimmed, in Unicode NFC and case-folded, so that Ann@X.org and ann@x.org
    (and a composed and a decomposed é) are one user."""
    return unicodedata.normalize("NFC", email.strip()).casefold()


def check_password(password: str) -> None:
    """InvalidRequest unless the password has 8 to 1024 characters (NIST SP 800-63B §5.1.1.2)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidRequest(
            f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long."
        )


@dataclass(frozen=True)
class Profile:
    """Checked profile claims to set (OIDC Core §5.1): each one named is set, None clears it;
    one not named is left as it is. Made by :meth:`checked`."""

    claims: Mapping[str, str | None]

    @classmethod
    def checked(cls, values: Mapping[str, object]) -> Profile:
        """The claims of ``values``, each trimmed and checked; an empty string or None clears
        the claim. InvalidRequest naming the first claim that is unknown or wrong: not a
        string, too long, with a control character, a ``picture`` that is not an https URL,
        a ``locale`` that is not a language tag such as ``en`` or ``pt-BR``."""
        return cls({name: _checked_claim(name, value) for name, value in values.items()})

    def __bool__(self) -> bool:
        return bool(self.claims)


def _checked_claim(name: str, value: object) -> str | None:
    if name not in PROFILE_CLAIMS:
        raise InvalidRequest(f"Unknown profile claim '{name}'; known: "
                             f"{', '.join(PROFILE_CLAIMS)}.")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string (empty or null to clear it).")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidRequest(f"{name} must not contain control characters.")
    limit = PROFILE_CLAIMS[name]
    if len(value) > limit:  # as sent, spaces included: the bound the API document gives
        raise InvalidRequest(f"{name} must be at most {limit} characters long.")
    value = value.strip()
    if value and name == "picture" and not _is_https_url(value):
        raise InvalidRequest("picture must be an https URL, such as "
                             "https://example.com/ann.png.")
    if value and name == "locale" and not _LOCALE.match(value):
        raise InvalidRequest("locale must be a language tag (BCP 47) such as en or pt-BR.")
    return value or None


def _is_https_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and value.isascii() \
        and " " not in value


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
               is_admin: bool = False, profile: Profile | None = None) -> User:
        """Create a user (a dashboard administrator with ``is_admin``), with the ``profile``
        claims given; InvalidRequest for a malformed email, weak password or taken email. The
        caller commits."""
        email = checked_email(email)
        check_password(password)
        user = User(email_verified=email_verified, password_hash=self._hasher.hash(password),
                    is_admin=is_admin)
        self._session.add(user)
        if profile:
            self.set_profile(user, profile)
        self.set_email(user, email)
        self._audit.record("admin.created" if is_admin else "user.created", user_id=user.id)
        return user

    def set_email(self, user: User, email: str) -> None:
        """Give the user this (checked) email as login name; Conflict (409), and every pending
        change rolled back, when another user has it in any case. The caller commits."""
        user.email = email
        user.email_normalized = normalize_email(email)
        try:
            self._session.flush()
        except IntegrityError:
            self._session.rollback()
            raise Conflict("A user with this email address already exists.") from None

    def set_password(self, user: User, password: str) -> None:
        """Store a hash of the (checked) password, argon2id (RFC 9106). The caller commits."""
        user.password_hash = self._hasher.hash(password)

    def set_profile(self, user: User, profile: Profile) -> list[str]:
        """Set the (checked) claims; the names of those that changed. ``updated_at`` becomes
        now when one did (OIDC Core §5.1). The caller commits."""
        changed = [name for name in PROFILE_CLAIMS
                   if name in profile.claims and getattr(user, name) != profile.claims[name]]
        for name in changed:
            setattr(user, name, profile.claims[name])
        if changed:
            user.updated_at = utcnow()
        return changed
