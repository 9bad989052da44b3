"""Checking a second factor under the attempt limits (NIST SP 800-63B §5.2.2).

Every MFA grant goes through :meth:`MfaVerifier.verify`: open the mfa_token (this client's, not
expired), hold it so its codes are checked one at a time, count the attempt *before* checking
(authserver.limits), check, then consume the token. The limits:

* per mfa_token: ``token_max_failures`` wrong codes, then the token is void (``429``);
* per user, across all mfa_tokens: a bucket of ``user_failure_burst`` failures that drains one
  every ``user_failure_drain`` seconds, and at most ``user_max_consecutive_failures`` (≤ 100) in
  a row, after which an operator must unlock the user. A new mfa_token resets neither.

While a limit holds, the right code gets the same ``429`` as a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from authserver.accounts.users import UserDirectory
from authserver.audit import AuditLog
from authserver.errors import InvalidGrant
from authserver.limits import AttemptLimiter, Hit, Limit, LimitReached
from authserver.mfa.settings import RECOVERY_CODE, MfaSettings
from authserver.mfa.tickets import MfaTicket, MfaTickets
from authserver.models import User

WRONG_CODE = "The code is wrong, or was already used."
_SUCCESS_EVENTS = {RECOVERY_CODE: "mfa.recovery_code.used"}


def _token_hits(settings: MfaSettings, ticket: MfaTicket) -> list[Hit]:
    token = Limit(
        "mfa-token", settings.token_max_failures, int(ticket.seconds_left) + 1,
        "Too many wrong codes for this mfa_token; it is void. Log in again.",
    )
    return [(token, ticket.key)]


def _user_hits(settings: MfaSettings, user_id: str) -> list[Hit]:
    burst = Limit(
        "mfa-user", settings.user_failure_burst, None,
        "Too many wrong codes for this account. Wait before trying again.",
        drain_every=settings.user_failure_drain,
    )
    consecutive = Limit(
        "mfa-consecutive", settings.user_max_consecutive_failures, None,
        "Too many wrong codes for this account; it is locked until an administrator unlocks it.",
    )
    return [(burst, user_id), (consecutive, user_id)]


@dataclass(frozen=True)
class Attempt:
    """A second-factor attempt at the token endpoint."""

    mfa_token: str
    client_id: str
    ip: str
    factor: str  # "otp", "recovery-code", "sms": named in audit events


@dataclass(frozen=True)
class Proof:
    """A right answer: which authenticator gave it, and whether it confirmed a pending one."""

    authenticator_id: str | None = None
    confirmed: bool = False


Check = Callable[[User, MfaTicket], Proof | None]


class MfaVerifier:
    """Runs one second-factor check under the limits and consumes the mfa_token on success."""

    def __init__(
        self, session: Session, users: UserDirectory, tickets: MfaTickets,
        limiter: AttemptLimiter, audit: AuditLog,
    ) -> None:
        self._session = session
        self._users = users
        self._tickets = tickets
        self._limiter = limiter
        self._audit = audit

    def verify(
        self, attempt: Attempt, settings: MfaSettings, check: Check,
    ) -> tuple[User, MfaTicket]:
        """The user and ticket after a right answer; InvalidGrant, ExpiredToken or LimitReached."""
        ticket = self._tickets.open(attempt.mfa_token, attempt.client_id)
        user = self._users.get(ticket.user_id)
        if user is None:
            raise InvalidGrant("The user of this mfa_token no longer exists.")
        user_hits = _user_hits(settings, user.id)
        with self._tickets.exclusive(ticket):
            self._reserve(attempt, user, _token_hits(settings, ticket), user_hits)
            proof = check(user, ticket)
            if proof is None:
                self._record(attempt, user, "mfa.verify.failure")
                raise InvalidGrant(WRONG_CODE)
            if not self._tickets.consume(ticket):
                raise InvalidGrant("The mfa_token has already been used.")
            self._limiter.forgive(user_hits)
            self._record_success(attempt, user, proof)
        return user, ticket

    def unlock(self, user: User, settings: MfaSettings) -> None:
        """Clear the user's MFA failure counters (an operator's decision)."""
        self._limiter.clear(_user_hits(settings, user.id))
        self._audit.record("mfa.unlocked", user_id=user.id)
        self._session.commit()

    def _reserve(self, attempt: Attempt, user: User, *stages: list[Hit]) -> None:
        """Count the attempt, stage by stage: a refused stage counts nothing after it."""
        try:
            for hits in stages:
                self._limiter.reserve(hits)
        except LimitReached as refusal:
            if refusal.newly:
                self._record(attempt, user, "mfa.locked", limits=list(refusal.newly))
            raise

    def _record_success(self, attempt: Attempt, user: User, proof: Proof) -> None:
        detail = {} if proof.authenticator_id is None else {
            "authenticator_id": proof.authenticator_id}
        if proof.confirmed:  # login enrollment: the first code activated the authenticator
            self._audit.record("mfa.confirmed", user_id=user.id, client_id=attempt.client_id,
                               ip=attempt.ip, factor=attempt.factor, **detail)
        event = _SUCCESS_EVENTS.get(attempt.factor, "mfa.verify.success")
        self._record(attempt, user, event, **detail)

    def _record(self, attempt: Attempt, user: User, event: str, **detail: object) -> None:
        self._audit.record(event, user_id=user.id, client_id=attempt.client_id, ip=attempt.ip,
                           factor=attempt.factor, **detail)
        self._session.commit()

