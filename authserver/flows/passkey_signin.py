"""Passwordless sign-in with a passkey (README, Passkeys): ``POST /passkey/challenge`` and the
passkey grant.

Order: the challenge endpoint makes a ``passkey_session`` (256 random bits, handed to the client
once; the store keeps its SHA-256) bound to the client, with request options that name no
credential, so the browser offers the passkeys it holds for this RP ID (WebAuthn L3 §5.5,
discoverable credentials). The grant takes the session's challenge with one GETDEL (single use,
right or wrong), finds the credential by its id, checks that its user handle names the same
user (§7.2 step 6), verifies the assertion with user verification required (a passwordless
sign-in rests on the PIN or biometric: NIST SP 800-63B §5.1.9.1) and the signature counter, and
refuses a blocked user. ``amr`` is ``hwk`` or ``swk`` and ``user`` (RFC 8176), plus ``mfa`` when
the settings count a passkey sign-in as MFA. When they do not and the account needs MFA, the
answer is ``403 mfa_required`` for another factor, as after a password.

A wrong answer cannot be tried again (its session is spent), so no attempt limit is kept; each
refusal is audited ``passkey.signin.failure`` with its reason, each success
``passkey.signin.success``.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session
from webauthn.helpers.structs import AuthenticationCredential

from authserver.accounts.users import UserDirectory, ensure_not_blocked
from authserver.audit import AuditLog
from authserver.errors import InvalidGrant, InvalidRequest
from authserver.flows.password_login import MfaRequired, finishable
from authserver.flows.unit import refusals_kept
from authserver.mfa.policy import MFA_AMR, MfaPolicy, PendingLogin, Requirement
from authserver.mfa.settings import UV_REQUIRED, WEBAUTHN_FACTORS, MfaSettings, MfaSettingsStore
from authserver.mfa.tickets import FOR_CHALLENGE
from authserver.mfa.verification import RefusedAnswer
from authserver.mfa.webauthn import CHALLENGE_TTL, Assertion, Passkeys, key_amr, signin_purpose
from authserver.models import Authenticator, Client, User
from authserver.models.base import utcnow
from authserver.monitoring import PASSKEY_SIGNIN
from authserver.tokens.issuer import Authentication, TokenIssuer, TokenRequest, Tokens

USER_PRESENT_AMR = "user"  # RFC 8176 §2, as the README's passkey amr says
SWITCHED_OFF = "Passkeys are switched off for this deployment."


class PasskeySignIn:
    """passkey_session + assertion → tokens (or mfa_required)."""

    def __init__(
        self, session: Session, settings: MfaSettingsStore, passkeys: Passkeys, *,
        users: UserDirectory, policy: MfaPolicy, issuer: TokenIssuer, audit: AuditLog,
    ) -> None:
        self._session = session
        self._settings = settings
        self._passkeys = passkeys
        self._users = users
        self._policy = policy
        self._issuer = issuer
        self._audit = audit

    def challenge(self, client: Client) -> dict[str, Any]:
        """A new passkey_session and the options the browser asks for a passkey with."""
        self._enabled()
        passkey_session = secrets.token_urlsafe(32)
        options = self._passkeys.request_options(
            signin_purpose(passkey_session), client.client_id, [],
            user_verification=UV_REQUIRED)
        return {"passkey_session": passkey_session, "options": options,
                "expires_in": CHALLENGE_TTL}

    def run(self, passkey_session: str, credential: AuthenticationCredential,
            request: TokenRequest, ip: str) -> Tokens | MfaRequired:
        """Tokens or MfaRequired; InvalidGrant (RefusedAnswer) when the answer does not
        verify, InvalidRequest when passkeys are off."""
        settings = self._enabled()
        self._issuer.ready()
        user, assertion = self.authenticate(passkey_session, credential,
                                            request.client.client_id, ip)
        outcome = self._outcome(user, assertion, request, ip, settings)
        self._session.commit()
        return outcome

    def authenticate(self, passkey_session: str, credential: AuthenticationCredential,
                     client_id: str, ip: str) -> tuple[User, Assertion]:
        """The user whose passkey answered, audited (the caller commits a success; a refusal
        is committed here with its audit event)."""
        self._enabled()
        with refusals_kept(self._session):
            try:
                assertion = self._passkeys.verify(
                    signin_purpose(passkey_session), client_id, credential, self._owned,
                    require_uv=True)
                user = self._user(assertion)
            except RefusedAnswer as refused:
                self._audit.record("passkey.signin.failure", client_id=client_id, ip=ip,
                                   factor=PASSKEY_SIGNIN, reason=refused.reason)
                raise
        self._audit.record("passkey.signin.success", user_id=user.id, client_id=client_id,
                           ip=ip, factor=PASSKEY_SIGNIN,
                           authenticator_id=assertion.authenticator.id)
        return user, assertion

    def amr(self, assertion: Assertion) -> tuple[str, ...]:
        """``hwk`` or ``swk``, ``user``, and ``mfa`` when a passkey sign-in counts as MFA."""
        amr = (key_amr(assertion.authenticator), USER_PRESENT_AMR)
        return (*amr, MFA_AMR) if self._settings.load().passkey_counts_as_mfa else amr

    def _enabled(self) -> MfaSettings:
        settings = self._settings.load()
        if not settings.passkeys_enabled:
            raise InvalidRequest(SWITCHED_OFF)
        return settings

    def _owned(self, credential_id: bytes, user_handle: bytes | None) -> Authenticator | None:
        """The active passkey of this credential id, if the user handle names its user."""
        found = self._passkeys.by_credential(credential_id)
        if found is None or not found.active or user_handle is None:
            return None
        return found if secrets.compare_digest(user_handle, found.user_id.encode()) else None

    def _user(self, assertion: Assertion) -> User:
        user = self._users.get(assertion.authenticator.user_id)
        if user is None:
            raise RefusedAnswer("This passkey is not enrolled for this account.",
                                reason="unknown_credential")
        try:
            ensure_not_blocked(user)
        except InvalidGrant as blocked:
            raise RefusedAnswer(blocked.description or "", reason="blocked") from None
        return user

    def _outcome(self, user: User, assertion: Assertion, request: TokenRequest, ip: str,
                 settings: MfaSettings) -> Tokens | MfaRequired:
        amr = self.amr(assertion)
        needed = None if MFA_AMR in amr else self._policy.requirement(user.id, settings,
                                                                      request.client)
        if needed is None:
            return self._issuer.issue(Authentication(user, amr, utcnow()), request)
        others = tuple(f for f in needed.factors if f not in WEBAUTHN_FACTORS)
        if needed.kind != FOR_CHALLENGE or not others:
            raise InvalidGrant("This account needs a second factor besides a passkey, and has "
                               "none enrolled: sign in with the password.")
        needed = Requirement(FOR_CHALLENGE, others, needed.reason)
        offered = finishable(needed, request.client)
        login = PendingLogin(request.client.client_id, request.scope, request.audience, ip, amr)
        return MfaRequired(self._policy.start(user, login, needed, settings), needed.kind,
                           offered)
