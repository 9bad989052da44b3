"""An operator unlocks a user (``protekt unlock-user``): the failed-login and failed-MFA
counters are cleared, so a user locked after ``login_max_consecutive_failures`` or
``user_max_consecutive_failures`` failures in a row may try again (NIST SP 800-63B §5.2.2 leaves
the unlock to the operator once the limit is reached). Audited ``login.unlocked`` and
``mfa.unlocked``; one commit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from authserver.accounts.login import PasswordLogin
from authserver.mfa.settings import MfaSettingsStore
from authserver.mfa.verification import MfaVerifier
from authserver.models import User


class Unlock:
    """Clear a user's failure counters."""

    def __init__(self, session: Session, login: PasswordLogin, verifier: MfaVerifier,
                 settings: MfaSettingsStore) -> None:
        self._session = session
        self._login = login
        self._verifier = verifier
        self._settings = settings

    def run(self, user: User) -> None:
        self._login.unlock(user)
        self._verifier.unlock(user, self._settings.load())
        self._session.commit()
