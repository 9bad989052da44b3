"""The MFA domain objects of one app, handed as one to the use cases that need several of them
(the dashboard's sign-in, the hosted sign-in); built in :func:`authserver.services.build_mfa`."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.mfa.authenticators import Authenticators
from authserver.mfa.factors import OtpFactor, RecoveryCodeFactor, WebauthnFactor
from authserver.mfa.groups import Groups
from authserver.mfa.policy import MfaPolicy
from authserver.mfa.recovery import RecoveryCodes
from authserver.mfa.settings import MfaSettingsStore
from authserver.mfa.sms import SmsFactor
from authserver.mfa.tickets import MfaLogins, MfaTickets
from authserver.mfa.trusted_devices import TrustedDevices
from authserver.mfa.verification import MfaVerifier
from authserver.mfa.webauthn import Passkeys
from authserver.sms.credits import SmsCredits


@dataclass(frozen=True)
class MfaServices:
    settings: MfaSettingsStore
    authenticators: Authenticators
    recovery_codes: RecoveryCodes
    tickets: MfaTickets
    logins: MfaLogins
    policy: MfaPolicy
    groups: Groups
    trusted_devices: TrustedDevices
    verifier: MfaVerifier
    otp: OtpFactor
    sms: SmsFactor
    recovery_code: RecoveryCodeFactor
    passkeys: Passkeys
    webauthn: WebauthnFactor
    sms_credits: SmsCredits
