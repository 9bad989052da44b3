"""How an administrator signs in to the dashboard: password, then their own second factor.

Protekt protects its console with its own MFA, through the same pieces as an app's login: the
password under the login limits (:class:`PasswordLogin`), an mfa_token in the store, and the
code checked by :class:`MfaVerifier` under the per-token and per-user attempt limits
(NIST SP 800-63B §5.2.2). The dashboard is its own client (``DASHBOARD_CLIENT_ID``) in tickets
and the audit trail. An administrator's factor is an authenticator app, or one of their
recovery codes, whatever the deployment's MFA settings say for users: the console always takes
two factors
(NIST SP 800-63B §4.2, AAL2). An administrator with no factor and no recovery code at all (new,
or reset by another administrator) adds an app after the password, confirms it with a first
code, and is shown recovery codes once; their factors change nowhere else (``/mfa`` refuses,
authserver.flows.factor_management). An administrator with a passkey or security key may answer
with it. When the settings require a phishing-resistant factor of administrators
(``admins_phishing_resistant``, NIST SP 800-63B §5.2.5), one who has a passkey must use it, and
one who has none answers with their current factor and then adds one before the console opens
(binding a new authenticator at the current level, §6.1.2.1). No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from authserver.accounts.login import LoginAttempt, PasswordLogin
from authserver.audit import AuditLog
from authserver.clients import DASHBOARD_CLIENT_ID
from authserver.errors import AccessDenied, InvalidRequest
from authserver.flows.unit import refusals_kept
from authserver.mfa import totp
from authserver.mfa.authenticators import TYPE_OTP
from authserver.mfa.factors import Factor
from authserver.mfa.services import MfaServices
from authserver.mfa.settings import UV_REQUIRED, WEBAUTHN_FACTORS, MfaSettings
from authserver.mfa.tickets import FOR_CHALLENGE, FOR_ENROLLMENT
from authserver.mfa.verification import Attempt
from authserver.mfa.webauthn import mfa_purpose, parse_registration
from authserver.models import Authenticator, User

APP_ISSUER = "Protekt dashboard"  # what the administrator's authenticator app shows
NOT_ADMIN = "This account may not sign in to the dashboard."
PASSKEY_ONLY = ("This dashboard takes a passkey or security key from administrators: use yours. "
                "Lost it? Another administrator can reset your MFA.")


@dataclass(frozen=True)
class PasswordAccepted:
    """The mfa_token for the second step, and whether it is to enroll an app first."""

    mfa_token: str
    enroll: bool


@dataclass(frozen=True)
class NewApp:
    """An authenticator app to add: its secret, otpauth:// URI and QR code (data URI)."""

    secret: str
    uri: str
    qr_code: str


@dataclass(frozen=True)
class SignedIn:
    """The administrator, their recovery codes when this sign-in created them, and whether
    they must add a passkey before the console opens."""

    user: User
    recovery_codes: list[str] | None
    needs_passkey: bool = False


class AdminSignIn:
    """The two steps of an administrator's sign-in."""

    def __init__(self, session: Session, login: PasswordLogin, mfa: MfaServices,
                 audit: AuditLog) -> None:
        self._session = session
        self._login = login
        self._mfa = mfa
        self._audit = audit

    def password(self, email: str, password: str, ip: str) -> PasswordAccepted:
        """Check the password (InvalidGrant, or LimitReached); AccessDenied for a user who is
        not an administrator, said only to someone who knew the password."""
        with refusals_kept(self._session):
            user = self._login.authenticate(LoginAttempt(email, password, DASHBOARD_CLIENT_ID, ip))
        if not user.is_admin:
            self._session.commit()
            raise AccessDenied(NOT_ADMIN)
        enroll = self._unprotected(user.id)
        mfa_token = self._mfa.tickets.issue(
            user_id=user.id, client_id=DASHBOARD_CLIENT_ID, scope=(), audience=(),
            purpose=FOR_ENROLLMENT if enroll else FOR_CHALLENGE,
            ttl=self._mfa.settings.load().mfa_token_ttl,
        )
        self._session.commit()
        return PasswordAccepted(mfa_token, enroll=enroll)

    def _unprotected(self, user_id: str) -> bool:
        """No active factor of any kind and no recovery codes: a new administrator, or one
        whose MFA another administrator reset. Only then may the password alone lead to adding
        an app; anyone else answers with what they have (an app code or a recovery code), so
        the password never replaces a factor (NIST SP 800-63B §6.1.2.1)."""
        return (not self._mfa.authenticators.has_active(user_id)
                and not self._mfa.recovery_codes.remaining(user_id))

    def new_app(self, mfa_token: str, email: str) -> NewApp:
        """A pending authenticator app for an administrator who has none (replacing an earlier
        pending one); it becomes active with its first code, at :meth:`verify`."""
        ticket = self._mfa.tickets.open(mfa_token, DASHBOARD_CLIENT_ID)
        if ticket.purpose != FOR_ENROLLMENT or not self._unprotected(ticket.user_id):
            raise InvalidRequest("This administrator already has a second factor.")
        self._mfa.authenticators.drop_pending(ticket.user_id, TYPE_OTP)
        _, secret = self._mfa.authenticators.add_otp(ticket.user_id, APP_ISSUER)
        self._session.commit()
        uri = totp.provisioning_uri(secret, APP_ISSUER, email)
        return NewApp(secret, uri, totp.qr_code(uri))

    def verify(self, mfa_token: str, code: str, ip: str) -> SignedIn:
        """The administrator after a right app code, recovery code or passkey answer
        (InvalidGrant, ExpiredToken or TooManyAttempts otherwise; AccessDenied for a code from
        an administrator who must use their passkey, before anything is checked or spent); a
        first app code also makes recovery codes."""
        factor = self._factor(code)
        settings = self._mfa.settings.load()
        ticket = self._mfa.tickets.open(mfa_token, DASHBOARD_CLIENT_ID)
        keyless = factor is not self._mfa.webauthn
        if keyless and settings.admins_phishing_resistant and self.passkeys(ticket.user_id):
            raise AccessDenied(PASSKEY_ONLY)
        answer = self._mfa.webauthn.parse(code) if not keyless else code
        attempt = Attempt(DASHBOARD_CLIENT_ID, ip, factor.name)
        with refusals_kept(self._session):
            user, ticket, _ = self._mfa.verifier.verify(
                mfa_token, attempt, settings, partial(factor.check, answer))
        codes = None
        if ticket.purpose == FOR_ENROLLMENT:
            codes = self._mfa.recovery_codes.replace_set(user.id)
        needs_passkey = keyless and settings.admins_phishing_resistant
        if not needs_passkey:
            self._signed_in(user, ip, factor.name)
        self._session.commit()
        return SignedIn(user, codes, needs_passkey)

    def _factor(self, code: str) -> Factor:
        """The factor whose answers look like this: an app's six digits, a recovery code, or
        a passkey's answer (JSON)."""
        if code.startswith("{"):
            return self._mfa.webauthn
        for factor in (self._mfa.otp, self._mfa.recovery_code):
            if factor.well_formed(code):
                return factor
        raise InvalidRequest("Enter the 6 digits your authenticator app shows, or a recovery "
                             "code like XXXX-XXXX-XXXX-XXXX.")

    def _signed_in(self, user: User, ip: str, factor: str) -> None:
        self._audit.record("dashboard.signed_in", user_id=user.id,
                           client_id=DASHBOARD_CLIENT_ID, ip=ip, factor=factor)

    # passkeys -------------------------------------------------------------------------------

    def passkeys(self, user_id: str) -> list[Authenticator]:
        """The administrator's active passkeys and security keys."""
        return [a for a in self._mfa.authenticators.of_user(user_id, active=True)
                if a.type in WEBAUTHN_FACTORS]

    def passkey_offered(self, mfa_token: str) -> bool:
        """The administrator of this second step has a passkey to answer with."""
        ticket = self._mfa.tickets.open(mfa_token, DASHBOARD_CLIENT_ID)
        return bool(self.passkeys(ticket.user_id))

    def passkey_options(self, mfa_token: str) -> dict[str, Any]:
        """The prompt's options for the second step: the administrator's passkeys."""
        ticket = self._mfa.tickets.open(mfa_token, DASHBOARD_CLIENT_ID)
        keys = self.passkeys(ticket.user_id)
        if not keys:
            raise InvalidRequest("This administrator has no passkey; enter a code.")
        return self._mfa.passkeys.request_options(
            mfa_purpose(ticket.key), ticket.user_id, keys,
            user_verification=self._mfa.settings.load().webauthn_user_verification)

    def new_passkey(self, user: User, kind: str) -> dict[str, Any]:
        """A pending passkey (or security key) for an administrator who has just passed their
        second factor, and the options to create it with."""
        if kind not in WEBAUTHN_FACTORS:
            raise InvalidRequest("Choose a passkey or a security key.")
        settings = self._mfa.settings.load()
        self._mfa.authenticators.drop_pending(user.id, *WEBAUTHN_FACTORS)
        pending = self._mfa.authenticators.add_passkey(user.id, kind, APP_ISSUER)
        options = self._mfa.passkeys.creation_options(
            user, pending, rp_name=APP_ISSUER, exclude=self.passkeys(user.id),
            user_verification=settings.webauthn_user_verification)
        self._session.commit()
        return options

    def add_passkey(self, user: User, credential: str, ip: str) -> None:
        """Keep the administrator's new passkey (RefusedAnswer when the browser's registration
        does not verify, InvalidRequest when malformed); audited, and the sign-in completes."""
        registration = parse_registration(credential)
        settings: MfaSettings = self._mfa.settings.load()
        pending = [a for a in self._mfa.authenticators.of_user(user.id, active=False)
                   if a.type in WEBAUTHN_FACTORS]
        if not pending:
            raise InvalidRequest("Choose a passkey or a security key first.")
        with refusals_kept(self._session):
            self._mfa.passkeys.register(
                pending[0], user, registration,
                require_uv=settings.webauthn_user_verification == UV_REQUIRED)
        self._mfa.authenticators.activate(pending[0])
        self._audit.record("mfa.enrolled", user_id=user.id, client_id=DASHBOARD_CLIENT_ID,
                           ip=ip, authenticator_id=pending[0].id, factor=pending[0].type)
        self._signed_in(user, ip, pending[0].type)
        self._session.commit()

    def sign_out(self, user_id: str, ip: str) -> None:
        """The administrator leaves the console; audited ``dashboard.signed_out``."""
        self._audit.record("dashboard.signed_out", user_id=user_id,
                           client_id=DASHBOARD_CLIENT_ID, ip=ip)
        self._session.commit()
