"""Checking a second factor under the attempt limits (NIST SP 800-63B §5.2.2).

Every MFA grant goes through :meth:`MfaVerifier.verify`: open the mfa_token (this client's, not
expired), hold it so its codes are checked one at a time, count the attempt *before* checking
(authserver.limits), check, then consume the token. The verifier adds its audit events and what a
check spends to the caller's unit of work; the use case commits them, success or refusal alike
(authserver.flows). The limits:

* per mfa_token: ``token_max_failures`` wrong codes, then the token is void (``429``);
* per user, across all mfa_tokens: a bucket of ``user_failure_burst`` failures that drains one
  every ``user_failure_drain`` seconds, and at most ``user_max_consecutive_failures`` (≤ 100) in
  a row, after which an operator must unlock the user. A new mfa_token resets neither.

While a limit holds, the right code gets the same ``429`` as a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import ExpiredToken, InvalidGrant, TooManyAttempts
from authserver.limits import AttemptLimiter, Hit, Limit, LimitReached
from authserver.mfa.settings import RECOVERY_CODE, WEBAUTHN, WEBAUTHN_FACTORS, MfaSettings
from authserver.mfa.tickets import UNKNOWN, MfaLogins, MfaTicket, MfaTickets
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
    """Who is trying a second-factor code, from where, with which factor (for the audit)."""

    client_id: str
    ip: str
    factor: str  # "otp", "recovery-code", "sms"


@dataclass(frozen=True)
class Proof:
    """A right answer: which authenticator gave it, whether it confirmed a pending one, and
    the ``amr`` values (RFC 8176) the answer itself showed beyond its factor's (a passkey's
    ``hwk`` or ``swk``)."""

    authenticator_id: str | None = None
    confirmed: bool = False
    amr: tuple[str, ...] = ()


class RefusedAnswer(InvalidGrant):
    """A wrong answer that says why (a passkey's assertion that does not verify), counted and
    audited like a wrong code, with ``reason`` in the audit event."""

    def __init__(self, description: str, *, reason: str) -> None:
        super().__init__(description)
        self.reason = reason


Check = Callable[[User, MfaTicket], Proof | None]


def _ensure_offered(ticket: MfaTicket, factor: str) -> None:
    """InvalidGrant, before any attempt is counted, for a factor this login did not offer
    (an application's or a group's rule narrowed them, README, MFA policies)."""
    offered = set(ticket.factors)
    if offered & set(WEBAUTHN_FACTORS):
        offered.add(WEBAUTHN)
    if ticket.factors and factor not in offered:
        raise InvalidGrant(f"This login may not be finished with {factor}; it takes "
                           f"{', '.join(ticket.factors)}.")


class MfaVerifier:
    """Runs second-factor checks under the limits; consumes the mfa_token on success.

    A check records what it spends (a TOTP step, a recovery code) without committing; the
    caller commits after the mfa_token is consumed, and a lost race for the token rolls it back,
    so a code is never spent on a login that did not happen.
    """

    def __init__(
        self, session: Session, logins: MfaLogins, tickets: MfaTickets, limiter: AttemptLimiter,
        audit: AuditLog,
    ) -> None:
        self._session = session
        self._logins = logins
        self._tickets = tickets
        self._limiter = limiter
        self._audit = audit

    def verify(
        self, mfa_token: str, attempt: Attempt, settings: MfaSettings, check: Check,
    ) -> tuple[User, MfaTicket, Proof]:
        """The user, ticket and proof after a right answer; InvalidGrant (also for a blocked
        user, before any code is checked or spent), ExpiredToken or LimitReached."""
        ticket, user = self._logins.open(mfa_token, attempt.client_id)
        _ensure_offered(ticket, attempt.factor)
        with self._tickets.exclusive(ticket) as held:
            ticket = held.ticket
            left: int | None = 0
            try:
                left = self._reserve(attempt, user, _token_hits(settings, ticket))
                proof = self.guarded(attempt, user, settings, partial(check, user, ticket))
            except (InvalidGrant, ExpiredToken, TooManyAttempts):
                if left == 0:  # that was the token's last attempt
                    self._tickets.void(ticket)
                raise
            if not self._tickets.consume_held(held):
                self._session.rollback()
                raise InvalidGrant(UNKNOWN)
            self._record_success(attempt, user, proof)
        return user, ticket, proof

    def guarded(
        self, attempt: Attempt, user: User, settings: MfaSettings,
        check: Callable[[], Proof | None], failure_event: str = "mfa.verify.failure",
    ) -> Proof:
        """Run one check under the user's limits: counted first, forgiven when right."""
        hits = _user_hits(settings, user.id)
        self._reserve(attempt, user, hits)
        try:
            proof = check()
        except ExpiredToken:  # an SMS code past its time: a failed attempt like a wrong one
            self._record(attempt, user, failure_event, reason="expired")
            raise
        except RefusedAnswer as refused:
            self._record(attempt, user, failure_event, reason=refused.reason)
            raise
        if proof is None:
            self._record(attempt, user, failure_event)
            raise InvalidGrant(WRONG_CODE)
        self._limiter.forgive(hits)
        return proof

    def unlock(self, user: User, settings: MfaSettings) -> None:
        """Clear the user's MFA failure counters (an operator's decision); the caller commits
        the audit event."""
        self._limiter.clear(_user_hits(settings, user.id))
        self._audit.record("mfa.unlocked", user_id=user.id)

    def _reserve(self, attempt: Attempt, user: User, hits: list[Hit]) -> int | None:
        """Count the attempt; audit a limit this attempt engaged."""
        try:
            return self._limiter.reserve(hits)
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

