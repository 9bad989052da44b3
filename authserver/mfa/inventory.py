"""A user's factors as README, API shows them, and taking them away: the rules that the user's own
``/mfa/authenticators`` and an administrator's management API share.

No Flask here. Phone numbers are shown masked, never in full; the recovery codes appear as one
entry with the number left. Removing the last active authenticator voids the recovery codes: they
back up a factor, and alone they would be a second password (NIST SP 800-63B §5.1.2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from authserver.errors import NotFound
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import RECOVERY_CODE
from authserver.mfa.webauthn import model_of
from authserver.models import Authenticator


class FactorInventory:
    """Lists, finds and removes a user's authenticators and recovery codes; callers commit."""

    def __init__(self, session: Session, authenticators: Authenticators,
                 recovery: RecoveryCodes) -> None:
        self._session = session
        self._authenticators = authenticators
        self._recovery = recovery

    def listing(self, user_id: str) -> list[dict[str, Any]]:
        """The user's authenticators, oldest first, then the recovery codes left if any."""
        items = [self._describe(a) for a in self._authenticators.of_user(user_id)]
        remaining = self._recovery.remaining(user_id)
        if remaining is not None:
            items.append({"id": RECOVERY_CODE, "authenticator_type": RECOVERY_CODE,
                          "active": True, "remaining": remaining})
        return items

    def find(self, user_id: str, authenticator_id: str) -> Authenticator:
        """The user's authenticator; NotFound when it is unknown or another user's."""
        authenticator = self._authenticators.find(user_id, authenticator_id)
        if authenticator is None:
            raise NotFound("No authenticator with this id for this user.")
        return authenticator

    def remove(self, authenticator: Authenticator) -> None:
        """Delete it; when no active authenticator is left, void the recovery codes.

        The user's row is locked first, so of two parallel removals of the last two
        authenticators the second sees the first's and voids the codes."""
        user_id = authenticator.user_id
        self._authenticators.lock_user(user_id)
        self._session.delete(authenticator)
        self._session.flush()
        if not self._authenticators.has_active(user_id):
            self._recovery.void(user_id)

    def remove_all(self, user_id: str) -> int:
        """Delete every authenticator and recovery code of the user; how many authenticators."""
        removed = self._session.execute(
            delete(Authenticator).where(Authenticator.user_id == user_id)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        self._recovery.void(user_id)
        return int(removed)

    def _describe(self, authenticator: Authenticator) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": authenticator.id,
            "authenticator_type": authenticator.type,
            "name": authenticator.name,
            "active": authenticator.active,
            "created_at": _iso(authenticator.created_at),
            "last_used_at": _iso(authenticator.last_used_at),
        }
        if authenticator.oob_channel:
            item["oob_channel"] = authenticator.oob_channel
        if authenticator.phone_ciphertext is not None:
            item["phone_number"] = self._authenticators.phone(authenticator).masked
        if authenticator.credential_id is not None:  # a passkey (WebAuthn L3 §6.1.3, §6.5.1)
            item.update(backup_eligible=authenticator.backup_eligible,
                        backed_up=authenticator.backed_up, aaguid=authenticator.aaguid,
                        model=model_of(authenticator.aaguid),
                        transports=authenticator.transports or [])
        return item


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
