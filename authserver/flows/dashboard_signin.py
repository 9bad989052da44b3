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
authserver.flows.factor_management). No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

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
from authserver.mfa.tickets import FOR_CHALLENGE, FOR_ENROLLMENT
from authserver.mfa.verification import Attempt
from authserver.models import User

APP_ISSUER = "Protekt dashboard"  # what the administrator's authenticator app shows
NOT_ADMIN = "This account may not sign in to the dashboard."


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
    """The administrator, and their recovery codes when this sign-in created them."""

    user: User
    recovery_codes: list[str] | None


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
        """The administrator after a right app code or recovery code (InvalidGrant,
        ExpiredToken or TooManyAttempts otherwise); a first app code also makes recovery codes."""
        factor = self._factor(code)
        attempt = Attempt(DASHBOARD_CLIENT_ID, ip, factor.name)
        with refusals_kept(self._session):
            user, ticket, _ = self._mfa.verifier.verify(
                mfa_token, attempt, self._mfa.settings.load(), partial(factor.check, code))
        codes = None
        if ticket.purpose == FOR_ENROLLMENT:
            codes = self._mfa.recovery_codes.replace_set(user.id)
        self._audit.record("dashboard.signed_in", user_id=user.id,
                           client_id=DASHBOARD_CLIENT_ID, ip=ip, factor=factor.name)
        self._session.commit()
        return SignedIn(user, codes)

    def _factor(self, code: str) -> Factor:
        """The factor whose answers look like this code: an app's six digits or a recovery
        code."""
        for factor in (self._mfa.otp, self._mfa.recovery_code):
            if factor.well_formed(code):
                return factor
        raise InvalidRequest("Enter the 6 digits your authenticator app shows, or a recovery "
                             "code like XXXX-XXXX-XXXX-XXXX.")

    def sign_out(self, user_id: str, ip: str) -> None:
        """The administrator leaves the console; audited ``dashboard.signed_out``."""
        self._audit.record("dashboard.signed_out", user_id=user_id,
                           client_id=DASHBOARD_CLIENT_ID, ip=ip)
        self._session.commit()
