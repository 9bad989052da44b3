"""An administrator changes the MFA settings or tops up the SMS credits (the dashboard's Security
section, ``PATCH /api/v2/mfa/settings``, ``POST /api/v2/sms/credits``, ``protekt mfa settings``
and ``protekt sms credits``).

Every value is checked before anything is written (authserver.mfa.settings), the change and its
audit event are committed together, and then every process drops its cached settings
(authserver.cache): the change applies from the next request everywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from authserver.cache import SharedCache
from authserver.mfa.settings import MfaSettings, MfaSettingsStore
from authserver.sms.credits import SmsCredits


class SecuritySettings:
    """Changes to the deployment's MFA settings and SMS credits."""

    def __init__(self, session: Session, settings: MfaSettingsStore, credits: SmsCredits,
                 cache: SharedCache) -> None:
        self._session = session
        self._settings = settings
        self._credits = credits
        self._cache = cache

    def update(self, **changes: Any) -> MfaSettings:
        """Apply the changes (field names of MfaSettings); InvalidRequest, with nothing
        written, when one is unknown or wrong."""
        settings = self._settings.update(**changes)
        self._session.commit()
        self._cache.changed()
        return settings

    def top_up(self, amount: int) -> int:
        """Add credits (an operator's purchase); the new balance."""
        balance = self._credits.top_up(amount)
        self._session.commit()
        return balance
