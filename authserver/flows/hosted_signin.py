"""The hosted sign-in's steps (OIDC Core §3.1.2.3): password, second factor or its enrollment,
consent, the sign-in session, and logout. No Flask here: the pages of
:mod:`authserver.hosted.pages` call these steps, and ``/authorize`` decides which comes next
(:mod:`authserver.hosted.decisions`).

Every step goes through the same parts as the API: the password through :class:`PasswordLogin`
under the login limits; the second factor through an mfa_token and :class:`MfaVerifier` under
the per-token and per-user attempt limits (NIST SP 800-63B §5.2.2), with the same audit events;
enrollment through :class:`MfaAccount` with the mfa_token, as ``/mfa/associate`` during a
login. Only the grant allow-list does not apply: the server finishes the factor itself.

The sign-in session lives in the store (:class:`BrowserSessions`); the browser's cookie holds
its id. Logging out ends it and revokes the refresh tokens it opened (OIDC RP-Initiated Logout
1.0 §2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from authserver.accounts.consents import Consents
from authserver.accounts.interactions import Interactions
from authserver.accounts.login import LoginAttempt, PasswordLogin
from authserver.accounts.sessions import BrowserSession, BrowserSessions, session_key
from authserver.accounts.users import UserDirectory
from authserver.audit import AuditLog
from authserver.errors import InvalidRequest
from authserver.flows.factor_management import Enrollment, MfaAccount, Principal
from authserver.flows.mfa_challenge import MfaChallenge
from authserver.flows.passkey_signin import PasskeySignIn
from authserver.flows.unit import refusals_kept
from authserver.mfa.decision import MULTI_FACTOR, Decision
from authserver.mfa.factors import Factor
from authserver.mfa.policy import PendingLogin, Requirement
from authserver.mfa.services import MfaServices
from authserver.mfa.settings import OTP, RECOVERY_CODE, SMS, WEBAUTHN, WEBAUTHN_FACTORS
from authserver.mfa.tickets import FOR_ENROLLMENT, MfaTicket
from authserver.mfa.verification import Attempt
from authserver.mfa.webauthn import parse_assertion
from authserver.models import Client, User
from authserver.tokens.access import signed_by_us
from authserver.tokens.claims import KEY_AMR, acr_demand
from authserver.tokens.keys import KeyRing
from authserver.tokens.refresh import RefreshTokens


@dataclass(frozen=True)
class Authenticated:
    """Who signed in, how (RFC 8176 ``amr``) and when (epoch seconds)."""

    user: User
    amr: tuple[str, ...]
    auth_time: float


@dataclass(frozen=True)
class Who:
    """The browser's side of a step: the app it signs in to and its address."""

    client: Client
    ip: str


@dataclass(frozen=True)
class SignInParts:
    """What the steps work with; built from the app's services by authserver.hosted."""

    session: Session
    issuer: str
    keyring: KeyRing
    users: UserDirectory
    login: PasswordLogin
    mfa: MfaServices
    challenge: MfaChallenge
    factors: MfaAccount
    sso_sessions: BrowserSessions
    refresh_tokens: RefreshTokens
    consents: Consents
    audit: AuditLog
    interactions: Interactions
    passkeys: PasskeySignIn


class HostedSignIn:
    """The steps; each commits what it did."""

    def __init__(self, parts: SignInParts) -> None:
        self._parts = parts
        self._mfa = parts.mfa
        self.interactions = parts.interactions

    # the sign-in session --------------------------------------------------------------------

    def current(self, session_id: str) -> tuple[BrowserSession, User] | None:
        """The live session of this id and its user; None when ended, or the user is gone or
        blocked (a block ends every session, this holds in between)."""
        found = self._parts.sso_sessions.find(session_id) if session_id else None
        if found is None:
            return None
        user = self._parts.users.get(found.user_id)
        if user is None or user.blocked:
            self._parts.sso_sessions.end(session_id)
            return None
        return found, user

    def open_session(self, done: Authenticated, who: Who, replaces: str | None) -> str:
        """A new session for a completed sign-in (a new id every time: no fixation), ending
        the one it replaces (a step-up, a new password) and taking over the refresh tokens that
        one opened when it was the same user's, so that logging out still revokes them; audited
        ``signin.session_started``."""
        session_id = self._parts.sso_sessions.start(done.user.id, done.auth_time, done.amr)
        if replaces:
            old = self._parts.sso_sessions.find(replaces)
            self._parts.sso_sessions.end(replaces)
            if old is not None and old.user_id == done.user.id:  # another user's stay theirs
                self._parts.refresh_tokens.move_session(old.key, session_key(session_id))
        self._parts.audit.record("signin.session_started", user_id=done.user.id,
                                    client_id=who.client.client_id, ip=who.ip,
                                    amr=list(done.amr))
        self._parts.session.commit()
        return session_id

    def logout(self, session_id: str, client_id: str | None, ip: str) -> None:
        """End the session and revoke the refresh tokens it opened; audited ``logout``."""
        found = self._parts.sso_sessions.find(session_id) if session_id else None
        if found is None:
            return
        self._parts.sso_sessions.end(session_id)
        revoked = self._parts.refresh_tokens.revoke_session(found.key)
        self._parts.audit.record("logout", user_id=found.user_id, client_id=client_id, ip=ip,
                                    sessions_revoked=revoked)
        self._parts.session.commit()

    def id_token_hint(self, token: str) -> dict[str, Any]:
        """The claims of an ID token this server issued, expired or not (OIDC Core §3.1.2.1,
        RP-Initiated Logout 1.0 §2: an expired one is still a hint); InvalidRequest if not."""
        decoded = signed_by_us(self._parts.keyring, token)
        if decoded is None or decoded[1].get("iss") != self._parts.issuer:
            raise InvalidRequest("The id_token_hint is not an ID token of this server.")
        return decoded[1]

    # password --------------------------------------------------------------------------------

    def password(self, email: str, password: str, who: Who) -> Authenticated:
        """The user after the right password (InvalidGrant, LimitReached otherwise)."""
        with refusals_kept(self._parts.session):
            user = self._parts.login.authenticate(
                LoginAttempt(email, password, who.client.client_id, who.ip))
        self._parts.session.commit()
        return Authenticated(user, ("pwd",), time.time())

    # passkey, without a password -----------------------------------------------------------

    def passkeys_enabled(self) -> bool:
        return self._mfa.settings.load().passkeys_enabled

    def passkey_options(self, who: Who) -> tuple[str, dict[str, Any]]:
        """A passkey_session for this browser and the options of its passkey prompt."""
        started = self._parts.passkeys.challenge(who.client)
        return started["passkey_session"], started["options"]

    def passkey(self, passkey_session: str, credential: str, who: Who) -> Authenticated:
        """The user after a passkey answered (InvalidGrant or InvalidRequest otherwise): amr
        ``hwk``/``swk`` and ``user``, and ``mfa`` when a passkey counts as MFA."""
        user, assertion = self._parts.passkeys.authenticate(
            passkey_session, parse_assertion(credential), who.client.client_id, who.ip)
        self._parts.session.commit()
        return Authenticated(user, self._parts.passkeys.amr(assertion), time.time())

    # second factor ---------------------------------------------------------------------------

    def decision(self, user_id: str, client: Client, acr_values: str,
                 trust_token: str = "") -> Decision:
        """Whether this sign-in needs a second factor, and which: the deployment's, the
        application's and the user's groups' rules, the request's ``acr_values``, and whether
        this browser is one the user asked to remember (``trust_token``, its cookie)."""
        settings = self._mfa.settings.load()
        remembered = (settings.remember_device_days > 0
                      and self._mfa.trusted_devices.remembered(user_id, trust_token))
        return self._mfa.policy.decision(user_id, settings, client,
                                         acr_demand=acr_demand(acr_values),
                                         remembered=remembered)

    def remember_days(self) -> int:
        """Days a browser may be remembered after a second factor; 0: not offered."""
        return self._mfa.settings.load().remember_device_days

    def remember(self, user: User, label: str, who: Who) -> str:
        """Remember this browser for the user (asked on the second step's page); the token
        for its cookie; audited ``device.remembered``."""
        token = self._mfa.trusted_devices.trust(user.id, label, self.remember_days())
        self._parts.audit.record("device.remembered", user_id=user.id,
                                 client_id=who.client.client_id, ip=who.ip)
        self._parts.session.commit()
        return token

    def requirement(self, user_id: str, client: Client, acr_values: str = "") -> Requirement:
        """What the user can answer with, or must enroll, once the sign-in asks a second
        factor (``acr_values`` at least multi-factor); InvalidRequest when no factor is on."""
        needed = self._mfa.policy.requirement(
            user_id, self._mfa.settings.load(), client,
            acr_demand=acr_demand(acr_values) or MULTI_FACTOR)
        if needed is None or not needed.factors:
            raise InvalidRequest("This deployment has no second factor switched on.")
        return needed

    def start_mfa(self, user: User, scope: tuple[str, ...], who: Who, acr_values: str,
                  amr: tuple[str, ...] = ("pwd",)) -> str:
        """A new mfa_token for this sign-in's second step (after the first step's ``amr``),
        audited ``mfa.required``."""
        needed = self.requirement(user.id, who.client, acr_values)
        login = PendingLogin(who.client.client_id, scope, (), who.ip, amr)
        mfa_token = self._mfa.policy.start(user, login, needed, self._mfa.settings.load())
        self._parts.session.commit()
        return mfa_token

    def ticket(self, mfa_token: str, who: Who) -> MfaTicket:
        """The live ticket (InvalidGrant, ExpiredToken or TooManyAttempts otherwise)."""
        return self._mfa.tickets.open(mfa_token, who.client.client_id)

    def webauthn_options(self, mfa_token: str, who: Who) -> dict[str, Any]:
        """The options of the passkey prompt for this sign-in's second step."""
        body = self._parts.challenge.run(mfa_token, who.client, who.ip, WEBAUTHN, None,
                                         finished_by_grant=False)
        return dict(body["options"])

    def send_sms(self, mfa_token: str, who: Who) -> str:
        """Text a code to the user's phone; the oob_code that names it."""
        body = self._parts.challenge.run(mfa_token, who.client, who.ip, "sms", None,
                                                      finished_by_grant=False)
        return str(body["oob_code"])

    def verify(self, mfa_token: str, factor_name: str, answer: Any, who: Who,
               amr: tuple[str, ...]) -> Authenticated:
        """The sign-in with the factor added, after a right answer (InvalidGrant, ExpiredToken,
        TooManyAttempts otherwise), under the same limits and audit as the MFA grants."""
        factor = self._factor(factor_name)
        ticket = self.ticket(mfa_token, who)
        offered = self._offered(ticket)
        if set(offered) & set(WEBAUTHN_FACTORS):
            offered = (*offered, WEBAUTHN)
        if factor.name not in offered:
            raise InvalidRequest(f"The {factor.name} factor is not one this sign-in offers.")
        settings = self._mfa.settings.load()
        attempt = Attempt(who.client.client_id, who.ip, factor.name)
        with refusals_kept(self._parts.session):
            user, _, proof = self._mfa.verifier.verify(mfa_token, attempt, settings,
                                                       partial(factor.check, answer))
        self._parts.session.commit()
        return Authenticated(user, tuple(dict.fromkeys((*amr, *proof.amr, *factor.amr))),
                             time.time())

    def factors(self, mfa_token: str, who: Who) -> tuple[str, ...]:
        """The factors this sign-in's second step offers; InvalidGrant, ExpiredToken or
        TooManyAttempts when its mfa_token is over."""
        return self._offered(self.ticket(mfa_token, who))

    def _offered(self, ticket: MfaTicket) -> tuple[str, ...]:
        """The factors the user may answer with now: switched on and usable by the user (a
        pending app, while enrolling), as the sign-in's rules narrowed them when it began; a
        factor switched off since is refused, as at the grants. After a passkey sign-in that
        does not count as MFA, not a passkey again: the same authenticator twice is one factor
        (NIST SP 800-63B §4.2)."""
        settings = self._mfa.settings.load()
        factors = [f for f in ticket.factors if settings.factor_enabled(f)]
        if ticket.purpose == FOR_ENROLLMENT:
            return tuple(f for f in factors if f != RECOVERY_CODE)
        if KEY_AMR & set(ticket.first_amr):
            return tuple(f for f in factors if f not in WEBAUTHN_FACTORS)
        return tuple(factors)

    def _factor(self, name: str) -> Factor:
        factors: dict[str, Factor] = {OTP: self._mfa.otp, SMS: self._mfa.sms,
                                      WEBAUTHN: self._mfa.webauthn,
                                      RECOVERY_CODE: self._mfa.recovery_code}
        if name not in factors:
            raise InvalidRequest("Choose an authenticator app code, an SMS code, a passkey or "
                                 "a recovery code.")
        return factors[name]

    # enrollment during sign-in ---------------------------------------------------------------

    def enroll(self, mfa_token: str, asked: Enrollment, who: Who) -> dict[str, Any]:
        """``/mfa/associate`` with the sign-in's mfa_token: an authenticator app (pending until
        its first code) or a phone; recovery codes come with the first one."""
        ticket, user = self._mfa.logins.open(mfa_token, who.client.client_id)
        principal = Principal(user, who.client.client_id, who.ip, ticket=ticket)
        return self._parts.factors.associate(principal, asked)

    # consent ---------------------------------------------------------------------------------

    def consent_missing(self, user_id: str, client: Client, items: tuple[str, ...]) -> bool:
        """A third-party app asks scopes (or APIs) the user has not allowed it, or any app
        asks ``phone`` without the user's agreement (OIDC Core §3.1.2.4)."""
        granted = self._parts.consents.granted(user_id, client.client_id)
        wanted = set(items) if not client.first_party else {"phone"} & set(items)
        return not wanted <= granted

    def consent(self, user_id: str, items: tuple[str, ...], who: Who) -> None:
        self._parts.consents.grant(user_id, who.client.client_id, items)
        self._parts.session.commit()
