"""Password login at the token endpoint (RFC 6749 §4.3): tokens with amr ``pwd`` (RFC 8176),
or, when the account needs a second factor, ``403 mfa_required`` with an mfa_token and what the
user can answer with (README, API; NIST SP 800-63B §4.2.1: AAL2 takes two factors).

Order: the login limits count before the password is checked (authserver.accounts.login); the
MFA decision reads the user's factors; then either the mfa_token is issued and audited, or the
tokens are signed and their refresh-token family added; one commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from authserver.accounts.login import LoginAttempt, PasswordLogin
from authserver.errors import UnauthorizedClient
from authserver.flows.unit import refusals_kept
from authserver.mfa.policy import FACTOR_GRANTS, MfaPolicy, PendingLogin, Requirement
from authserver.mfa.risk import LoginContext
from authserver.mfa.settings import MfaSettingsStore
from authserver.models import Client, User
from authserver.models.base import utcnow
from authserver.tokens.issuer import Authentication, TokenIssuer, TokenRequest, Tokens


@dataclass(frozen=True)
class MfaRequired:
    """The password was right and a second factor is needed: the mfa_token for it, and what
    the user must do with it (``challenge`` or ``enroll``) with which factors."""

    mfa_token: str
    requirement: str
    factors: tuple[str, ...]

    def members(self) -> dict[str, Any]:
        """The members the ``mfa_required`` answer carries besides its error code."""
        return {
            "mfa_token": self.mfa_token,
            "mfa_requirements": {self.requirement: [{"type": f} for f in self.factors]},
            "available_factors": list(self.factors),
        }


class PasswordLoginFlow:
    """Email and password for tokens, or for an mfa_token."""

    def __init__(
        self, session: Session, login: PasswordLogin, settings: MfaSettingsStore,
        policy: MfaPolicy, issuer: TokenIssuer,
    ) -> None:
        self._session = session
        self._login = login
        self._settings = settings
        self._policy = policy
        self._issuer = issuer

    def run(self, attempt: LoginAttempt, request: TokenRequest) -> Tokens | MfaRequired:
        """Tokens, or MfaRequired; InvalidGrant, LimitReached or UnauthorizedClient."""
        with refusals_kept(self._session):
            user = self._login.authenticate(attempt)
            self._issuer.ready()  # before the MFA reads flush the login's audit event
            outcome = self._outcome(user, attempt, request)
        self._session.commit()
        return outcome

    def _outcome(self, user: User, attempt: LoginAttempt,
                 request: TokenRequest) -> Tokens | MfaRequired:
        settings = self._settings.load()
        context = LoginContext(attempt.ip, attempt.device_id, attempt.password)
        needed = self._policy.requirement(user.id, settings, request.client, context=context)
        if needed is None:
            self._policy.remember(user.id, request.client, context)
            return self._issuer.issue(Authentication(user, ("pwd",), utcnow()), request)
        offered = finishable(needed, request.client)
        login = PendingLogin(request.client.client_id, request.scope, request.audience,
                             attempt.ip, device_id=attempt.device_id)
        mfa_token = self._policy.start(user, login, needed, settings)
        return MfaRequired(mfa_token, needed.kind, offered)


def finishable(needed: Requirement, client: Client) -> tuple[str, ...]:
    """The factors whose grant this client may use; UnauthorizedClient when none, rather than an
    mfa_token it cannot use (RFC 6749 §5.2)."""
    offered = tuple(f for f in needed.factors if client.check_grant_type(FACTOR_GRANTS[f]))
    if not offered:
        raise UnauthorizedClient(
            "This user needs a second factor, and this client may not use the MFA grants."
        )
    return offered
