"""Remembered browsers (README, MFA policies): after a second factor on the hosted pages, a user
may ask the browser to be remembered for ``remember_device_days``; its sign-ins then skip the
prompt of the deployment's policy and of an adaptive application, never a group's, an
``always`` application's or ``acr_values`` (authserver.mfa.decision).

The browser's cookie holds a random 256-bit token; the database keeps its SHA-256 (a
high-entropy value: no slow hash), the user, a label and the expiry. A trust ends when it
expires, when revoked, and with every other one of the user's on a password change, an MFA
reset or a block (NIST SP 800-63B §6.1.2.3), and goes with the user. No Flask here.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authserver.digest import digest
from authserver.errors import NotFound
from authserver.models import TrustedDevice
from authserver.models.base import utcnow

MAX_TOKEN = 100
MAX_LABEL = 200


class TrustedDevices:
    """The user's remembered browsers; callers commit."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def trust(self, user_id: str, label: str, days: int) -> str:
        """Remember a browser for ``days``; the token for its cookie (shown only now)."""
        token = secrets.token_urlsafe(32)
        self._session.add(TrustedDevice(
            user_id=user_id, token_hash=digest(token), label=label[:MAX_LABEL] or "A browser",
            expires_at=utcnow() + timedelta(days=days)))
        return token

    def remembered(self, user_id: str, token: str) -> bool:
        """The token is one of the user's live trusts."""
        if not token or len(token) > MAX_TOKEN:
            return False
        found = self._session.scalar(select(TrustedDevice).where(
            TrustedDevice.token_hash == digest(token)))
        return (found is not None and found.user_id == user_id
                and found.expires_at > utcnow())

    def of_user(self, user_id: str) -> list[TrustedDevice]:
        return list(self._session.scalars(
            select(TrustedDevice).where(TrustedDevice.user_id == user_id,
                                        TrustedDevice.expires_at > utcnow())
            .order_by(TrustedDevice.created_at)))

    def revoke(self, user_id: str, device_id: str) -> None:
        found = self._session.get(TrustedDevice, device_id)
        if found is None or found.user_id != user_id:
            raise NotFound("No remembered browser with this id for this user.")
        self._session.delete(found)

    def revoke_all(self, user_id: str) -> int:
        """End every trust of the user; how many."""
        return int(self._session.execute(
            delete(TrustedDevice).where(TrustedDevice.user_id == user_id)
            .execution_options(synchronize_session=False)).rowcount)  # type: ignore[attr-defined]
