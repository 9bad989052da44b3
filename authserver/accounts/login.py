"""Checking an email and password, with throttling (NIST SP 800-63B §5.2.2).

Limits are counted before the password is verified (see authserver.limits), in two stages:

1. the windows: per account name (the email, hashed, counted whether or not the user exists)
   ``login_account_failures`` per ``login_account_window``; per client IP ``login_ip_failures``
   per ``login_ip_window``;
2. only for attempts the windows admit, per existing user: ``login_max_consecutive_failures``
   consecutive failures (at most 100), after which the account stays locked until an operator
   unlocks it (``protekt unlock-user``). Attempts refused by a window never count here, so nobody
   can lock an account faster than the windows let them guess: 100 guesses take 2.5 hours at
   the defaults, and every lock is audited (``login.throttled``).

While any limit holds, the right password gets the same 429 as a wrong one. An unknown user and a
wrong password get the same ``invalid_grant`` after the same argon2 work. A blocked user is told so
only after the right password (authserver.accounts.users.ensure_not_blocked), so a guesser learns
nothing from the block; the right password still clears the failure counters. What remains visible:
an account locked after 100 failures answers 429 in every window, an unknown name only in windows
it has exhausted. Keying the lock by name instead would hide that, at the price of a Redis key
that never expires for every name ever sprayed; NIST asks the lock of accounts, not of names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from authserver.accounts.passwords import MAX_LENGTH, PasswordHasher
from authserver.accounts.users import UserDirectory, ensure_not_blocked, normalize_email
from authserver.audit import AuditLog
from authserver.config import Settings
from authserver.digest import digest
from authserver.errors import InvalidGrant
from authserver.limits import AttemptLimiter, Hit, Limit, LimitReached
from authserver.models import User

WRONG_CREDENTIALS = "Wrong email or password."


@dataclass(frozen=True)
class LoginLimits:
    account: Limit
    ip: Limit
    consecutive: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            account=Limit(
                "login-account", settings.login_account_failures, settings.login_account_window,
                "Too many failed logins for this account. Wait before trying again.",
            ),
            ip=Limit(
                "login-ip", settings.login_ip_failures, settings.login_ip_window,
                "Too many failed logins from this address. Wait before trying again.",
            ),
            consecutive=Limit(
                "login-consecutive", settings.login_max_consecutive_failures, None,
                "Too many failed logins for this account. Wait before trying again.",
            ),
        )


@dataclass(frozen=True)
class LoginAttempt:
    email: str
    password: str
    client_id: str
    ip: str
    device_id: str | None = None  # the app's id of the browser or installation, if it sent one


class PasswordLogin:
    """Verifies an email and password under the login limits."""

    def __init__(
        self,
        *,
        session: Session,
        users: UserDirectory,
        hasher: PasswordHasher,
        limiter: AttemptLimiter,
        limits: LoginLimits,
        audit: AuditLog,
    ) -> None:
        self._session = session
        self._users = users
        self._hasher = hasher
        self._limiter = limiter
        self._limits = limits
        self._audit = audit

    def authenticate(self, attempt: LoginAttempt) -> User:
        """The user, or InvalidGrant (wrong credentials, blocked user) or LimitReached.

        The audit events of success and refusal alike join the caller's unit of work: the use
        case commits them, also when it then answers with the refusal (authserver.flows).
        """
        user = self._users.find_by_email(attempt.email)
        hits = self._window_hits(attempt)
        try:
            self._limiter.reserve(hits)
            if user is not None:
                hits.append((self._limits.consecutive, user.id))
                self._limiter.reserve(hits[-1:])
        except LimitReached as refusal:
            self._record_lock(refusal, attempt, user)
            raise
        if len(attempt.password) > MAX_LENGTH or not self._hasher.verify(
            user.password_hash if user else None, attempt.password
        ):
            self._audit.record(
                "login.failure", user_id=user.id if user else None,
                client_id=attempt.client_id, ip=attempt.ip,
            )
            raise InvalidGrant(WRONG_CREDENTIALS)
        assert user is not None  # verify() is False without a stored hash
        self._limiter.forgive(hits)
        ensure_not_blocked(user)
        if self._hasher.needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(attempt.password)
        self._audit.record("login.success", user_id=user.id, client_id=attempt.client_id,
                           ip=attempt.ip)
        return user

    def unlock(self, user: User) -> None:
        """Clear the user's failure counters (an operator's decision); the caller commits."""
        self._limiter.clear([
            (self._limits.consecutive, user.id),
            (self._limits.account, _account_key(user.email)),
        ])
        self._audit.record("login.unlocked", user_id=user.id)

    def _window_hits(self, attempt: LoginAttempt) -> list[Hit]:
        return [
            (self._limits.ip, attempt.ip),
            (self._limits.account, _account_key(attempt.email)),
        ]

    def _record_lock(self, refusal: LimitReached, attempt: LoginAttempt, user: User | None) -> None:
        """Audit the attempt that engaged a limit (not every refused attempt after it)."""
        if refusal.newly:
            self._audit.record(
                "login.throttled", user_id=user.id if user else None,
                client_id=attempt.client_id, ip=attempt.ip, limits=list(refusal.newly),
            )


def _account_key(email: str) -> str:
    """The account-name counter key: a digest, so no email address sits in Redis."""
    return digest(normalize_email(email))[:32]
