"""SMS credits: the balance an operator tops up and each SMS segment sent debits.

A debit is one conditional UPDATE (``balance >= n``), so parallel sends can never take the
balance below zero, on SQLite as on PostgreSQL. It is committed before the provider is called and
given back if the provider refuses, so a failed delivery costs nothing and a crash between the
two errs on the side of the deployment, never of an attacker. Every change is an audit event.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import InvalidRequest, TemporarilyUnavailable
from authserver.models import SmsCreditBalance

ROW_ID = 1
MAX_TOP_UP = 10**7


class CreditsExhausted(TemporarilyUnavailable):
    """Not enough credits for this SMS: nothing was sent (503 until an operator tops up)."""

    description = (
        "sms_credits_exhausted: this deployment has no SMS credits left, so no code was sent. "
        "Use another factor, or ask an administrator to top up the SMS credits."
    )


class SmsCredits:
    """The one balance row: read, top up, debit, give back."""

    def __init__(self, session: Session, audit: AuditLog) -> None:
        self._session = session
        self._audit = audit

    def balance(self) -> int:
        value = self._session.scalar(select(SmsCreditBalance.balance)
                                     .where(SmsCreditBalance.id == ROW_ID))
        return value or 0

    def top_up(self, amount: int) -> int:
        """Add credits (an operator's purchase); the new balance, audited; the caller
        commits."""
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_TOP_UP:
            raise InvalidRequest(f"A top-up must be a whole number from 1 to {MAX_TOP_UP}.")
        balance = self._add(amount)
        self._audit.record("sms.credits.topped_up", amount=amount, balance=balance)
        return balance

    def debit(self, amount: int, low_threshold: int, **detail: object) -> int:
        """Take ``amount`` credits or raise CreditsExhausted; the balance left, committed.

        Crossing ``low_threshold`` records ``sms.credits.low`` once, on the debit that crossed it.
        """
        _positive(amount)
        balance = self._session.scalar(
            update(SmsCreditBalance)
            .where(SmsCreditBalance.id == ROW_ID, SmsCreditBalance.balance >= amount)
            .values(balance=SmsCreditBalance.balance - amount)
            .returning(SmsCreditBalance.balance)
        )
        if balance is None:
            self._session.commit()
            raise CreditsExhausted()
        self._audit.record("sms.credits.debited", amount=amount, balance=balance, **detail)
        if balance <= low_threshold < balance + amount:
            self._audit.record("sms.credits.low", balance=balance, threshold=low_threshold)
        self._session.commit()
        return balance

    def refund(self, amount: int, **detail: object) -> int:
        """Give back a debit whose SMS was not delivered; audited and committed."""
        _positive(amount)
        balance = self._add(amount)
        self._audit.record("sms.credits.refunded", amount=amount, balance=balance, **detail)
        self._session.commit()
        return balance

    def _add(self, amount: int) -> int:
        """Add to the balance, creating the row on first use; flushed, not committed."""
        for _ in range(2):
            balance = self._session.scalar(
                update(SmsCreditBalance).where(SmsCreditBalance.id == ROW_ID)
                .values(balance=SmsCreditBalance.balance + amount)
                .returning(SmsCreditBalance.balance)
            )
            if balance is not None:
                return balance
            try:
                with self._session.begin_nested():
                    self._session.add(SmsCreditBalance(id=ROW_ID, balance=amount))
                return amount
            except IntegrityError:  # another process created the row meanwhile: update it
                continue
        raise TemporarilyUnavailable("The SMS credit balance could not be updated; retry.")


def _positive(amount: int) -> None:
    if amount < 1:
        raise ValueError(f"a debit or refund takes at least one credit, not {amount}")
