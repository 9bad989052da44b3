"""Refresh tokens: opaque, stored as SHA-256, rotated on every use (RFC 9700 §4.14.2).

Each login starts a *family*. Using a token rotates it: it is marked used and a new token of the
same family is issued, in one transaction. Presenting a used token again means it was copied: the
whole family is revoked, so neither the thief nor the victim can go on refreshing, and the
access tokens of the family are refused from then on (authserver.tokens.access). Tokens expire
after ``refresh_token_idle_ttl`` unused and, whatever happens, at the family's absolute expiry.
A blocked user's tokens are refused (authserver.accounts.users.ensure_not_blocked).

A retry is not reuse: when the rotation committed but its answer was lost (a connection cut
after the commit), the client presents the rotated token again. Within the retry grace
(``PROTEKT_REFRESH_TOKEN_RETRY_GRACE``, 30 s by default) of the rotation, by the same client,
while the successor has never been used, the successor is rotated in its place: the client gets
the successor's replacement and the lost successor becomes a rotated token like any other. RFC
9700 §4.14.2 allows such leeway; the window bounds what a thief holding the old token could do
with it: past the window, presenting any rotated token revokes the family, as before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from authserver.accounts.users import ensure_not_blocked
from authserver.audit import AuditLog
from authserver.digest import digest
from authserver.errors import InvalidGrant
from authserver.models import Client, RefreshToken, RefreshTokenFamily, User
from authserver.models.base import utcnow
from authserver.tokens.access import AccessTokens


@dataclass(frozen=True)
class RefreshLifetimes:
    """Seconds: unused before a token expires (idle), from the login to the end of its family
    (absolute), and after a rotation in which a retry of the lost answer is forgiven."""

    idle: int
    absolute: int
    retry_grace: int


class RefreshTokens:
    """Refresh-token families in the database. Callers commit (the token response is the unit)."""

    def __init__(self, session: Session, audit: AuditLog, access_tokens: AccessTokens,
                 lifetimes: RefreshLifetimes) -> None:
        self._session = session
        self._audit = audit
        self._access_tokens = access_tokens
        self._idle = timedelta(seconds=lifetimes.idle)
        self._absolute = timedelta(seconds=lifetimes.absolute)
        self._retry_grace = timedelta(seconds=lifetimes.retry_grace)

    def start_family(
        self, *, user_id: str, client_id: str, scope: str, audience: list[str], amr: list[str],
        auth_time: datetime, sso_session: str | None = None,
    ) -> tuple[str, str]:
        """Start a family for a fresh login; returns its id and its first token."""
        now = utcnow()
        family = RefreshTokenFamily(
            user_id=user_id, client_id=client_id, scope=scope, audience=audience, amr=amr,
            auth_time=auth_time, created_at=now, expires_at=now + self._absolute,
            sso_session=sso_session,
        )
        self._session.add(family)
        self._session.flush()
        token = secrets.token_urlsafe(32)  # 256 bits
        self._add_token(family, now, token)
        return family.id, token

    def redeemable(self, token: str, client: Client, ip: str | None) -> tuple[RefreshToken, User]:
        """The token's record and its user, if this client may use it now; InvalidGrant
        otherwise.

        A token used before revokes its family before the refusal (the caller commits the
        revocation with the refusal). A
        blocked user's token is refused as such, whatever else is true of it.
        """
        record = self._session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == digest(token))
        )
        if record is None or record.family.client_id != client.client_id:
            raise InvalidGrant("The refresh token is invalid.")
        user = self._session.get_one(User, record.family.user_id)
        ensure_not_blocked(user)
        now = utcnow()
        if record.rotated_at is not None:
            record = self._retried(record, now, ip)
        if record.rotated_at is not None:
            self._revoke_family(record.family, "reuse", ip)
            raise InvalidGrant(
                "The refresh token was already used; every token of this login is now revoked."
            )
        if record.family.revoked_at is not None:
            raise InvalidGrant("The refresh token has been revoked.")
        if record.expires_at <= now or record.family.expires_at <= now:
            raise InvalidGrant("The refresh token has expired; log in again.")
        return record, user

    def _retried(self, record: RefreshToken, now: datetime, ip: str | None) -> RefreshToken:
        """A rotated token presented again: its successor, to be rotated in its place, when this
        is a retry of a lost answer (rotated less than the retry grace ago, and the successor
        never used; RFC 9700 §4.14.2 allows the leeway); the record itself otherwise (reuse).
        Audited ``refresh_token.retried``."""
        if record.successor_hash is None or record.rotated_at is None or (
                now - record.rotated_at > self._retry_grace):
            return record
        successor = self._session.get(RefreshToken, record.successor_hash)
        if successor is None or successor.rotated_at is not None:
            return record
        family = record.family
        self._audit.record("refresh_token.retried", user_id=family.user_id,
                           client_id=family.client_id, ip=ip)
        return successor

    def rotate(self, record: RefreshToken, ip: str | None) -> str:
        """Mark record used and return its successor, atomically: of parallel uses, one wins.

        The family row is claimed first (a conditional UPDATE locks it), so a revocation that
        commits after redeemable() looked is seen here, and one that comes later waits.
        """
        now = utcnow()
        live = self._session.execute(
            update(RefreshTokenFamily)
            .where(RefreshTokenFamily.id == record.family_id,
                   RefreshTokenFamily.revoked_at.is_(None))
            .values(refreshed_at=now)
            .execution_options(synchronize_session=False)
        )
        if live.rowcount != 1:
            self._session.rollback()
            raise InvalidGrant("The refresh token has been revoked.")
        token = secrets.token_urlsafe(32)  # 256 bits
        claimed = self._session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == record.token_hash, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now, successor_hash=digest(token))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # another request rotated it first: that is reuse too
            self._session.rollback()
            self._revoke_family(record.family, "reuse", ip)
            raise InvalidGrant(
                "The refresh token was already used; every token of this login is now revoked."
            )
        self._add_token(record.family, now, token)
        return token

    def revoke(self, token: str, client: Client, ip: str | None) -> bool:
        """Revoke the token's family if it belongs to client (RFC 7009 §2.1); False if not found."""
        record = self._session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == digest(token))
        )
        if record is None or record.family.client_id != client.client_id:
            return False
        if record.family.revoked_at is None:
            self._revoke_family(record.family, "revocation", ip)
        return True

    def revoke_session(self, sso_session: str) -> int:
        """Revoke every live family that a browser session opened (its logout, OIDC
        RP-Initiated Logout 1.0 §2); how many. The caller audits and commits."""
        return self._revoke(RefreshTokenFamily.sso_session == sso_session)

    def move_session(self, old: str, new: str) -> None:
        """The families a replaced browser session opened now belong to its successor, so
        logging out of that one revokes them too. The caller commits."""
        self._session.execute(update(RefreshTokenFamily)
                              .where(RefreshTokenFamily.sso_session == old)
                              .values(sso_session=new))

    def revoke_client(self, user_id: str, client_id: str) -> int:
        """Revoke every live family of the user at one client (a consent withdrawn); how many.
        The caller audits and commits."""
        return self._revoke(and_(RefreshTokenFamily.user_id == user_id,
                                 RefreshTokenFamily.client_id == client_id))

    def revoke_family(self, family_id: str) -> int:
        """Revoke one family by its id (a replayed authorization code, RFC 6749 §4.1.2)."""
        return self._revoke(RefreshTokenFamily.id == family_id)

    def revoke_user(self, user_id: str) -> int:
        """Revoke every live family of the user: the end of all the user's sessions. The number
        revoked; the caller audits why and commits."""
        return self._revoke(RefreshTokenFamily.user_id == user_id)

    def _add_token(self, family: RefreshTokenFamily, now: datetime, token: str) -> None:
        self._session.add(RefreshToken(
            token_hash=digest(token), family_id=family.id, created_at=now,
            expires_at=min(now + self._idle, family.expires_at),
        ))

    def _revoke_family(self, family: RefreshTokenFamily, reason: str, ip: str | None) -> None:
        self._revoke(RefreshTokenFamily.id == family.id)
        self._audit.record("refresh_token.family_revoked", user_id=family.user_id,
                           client_id=family.client_id, ip=ip, reason=reason)

    def _revoke(self, which: ColumnElement[bool]) -> int:
        """Mark the live families matching ``which`` revoked, and their access tokens with them
        (authserver.tokens.access); how many. The access tokens are refused from now on, even
        if the caller's commit then fails: the safe side."""
        revoked = self._session.scalars(
            update(RefreshTokenFamily)
            .where(which, RefreshTokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(RefreshTokenFamily.id)
        ).all()
        for family_id in revoked:
            self._access_tokens.revoke_login(family_id)
        return len(revoked)
