"""Recovery codes: ten single-use codes that stand in for a lost second factor.

Each code carries 80 bits from the OS CSPRNG (README, API asks at least 64), written in Crockford's
base32 alphabet as four groups of four (``7K2M-QX9D-…``) so it reads aloud without ambiguity;
input is forgiving about case, hyphens, spaces, and O/I/L for 0/1. Codes are stored only as a
SHA-256 of user id and code: high-entropy values need no slow hash, and the
user id keeps equal codes of two users apart. A code is redeemed by one conditional UPDATE, so of
parallel redemptions exactly one succeeds (NIST SP 800-63B §5.1.2.2: used once only).
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from authserver.digest import digest
from authserver.models import RecoveryCode, User
from authserver.models.base import utcnow

CODES_PER_SET = 10
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: 5 bits a character
_LENGTH = 16  # 80 bits
_GROUP = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return "-".join(raw[i : i + _GROUP] for i in range(0, _LENGTH, _GROUP))


def normalize(code: str) -> str | None:
    """The code's 16 characters, or None if it cannot be a recovery code."""
    compact = "".join(code.split()).replace("-", "").upper().translate(_READ_AS)
    if len(compact) != _LENGTH or any(c not in _ALPHABET for c in compact):
        return None
    return compact


class RecoveryCodes:
    """A user's current set of recovery codes in the database."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def replace_set(self, user_id: str) -> list[str]:
        """A new set, voiding the old one; the caller commits. Shown to the user once.

        The user's row is locked first (``SELECT … FOR UPDATE``; SQLite has one writer anyway),
        so parallel replacements run one after the other and leave exactly one set.
        """
        self._session.execute(select(User.id).where(User.id == user_id).with_for_update())
        self.void(user_id)
        codes = [new_code() for _ in range(CODES_PER_SET)]
        self._session.add_all(
            RecoveryCode(user_id=user_id, code_hash=digest(f"{user_id}:{normalize(code) or ''}"))
            for code in codes
        )
        return codes

    def redeem(self, user_id: str, code: str) -> bool:
        """Mark the code used if it is one of the user's unused codes; the caller commits
        (until then the row stays locked against parallel redemptions)."""
        compact = normalize(code)
        if compact is None:
            return False
        result = self._session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id,
                   RecoveryCode.code_hash == digest(f"{user_id}:{compact}"),
                   RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def remaining(self, user_id: str) -> int | None:
        """Unused codes of the user's set; None when the user has no set."""
        total, unused = self._session.execute(
            select(func.count(RecoveryCode.id), func.count(RecoveryCode.id).filter(
                RecoveryCode.used_at.is_(None)))
            .where(RecoveryCode.user_id == user_id)
        ).one()
        return unused if total else None

    def void(self, user_id: str) -> None:
        """Delete the user's codes; the caller commits."""
        self._session.execute(
            delete(RecoveryCode).where(RecoveryCode.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
