"""The MFA grants (README, API): an mfa_token and a second factor's answer for tokens.

``mfa-otp`` takes a code from an authenticator app, ``mfa-oob`` the oob_code of an SMS challenge
and the code the SMS carried, ``mfa-recovery-code`` a recovery code. Each is accepted under
Protekt's URI and Auth0's (``http://auth0.com/oauth/grant-type/…``), so code written for Auth0
works unchanged. The rules (limits, single use, step replay) live in :mod:`authserver.mfa`; a
grant names its factor and reads its answer, nothing more.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin

from authserver.clients import AUTH0_ALIASES, MFA_OOB, MFA_OTP, MFA_RECOVERY_CODE
from authserver.errors import InvalidRequest
from authserver.grants.base import ProtektGrant, Response
from authserver.mfa.factors import Factor, OtpFactor, RecoveryCodeFactor
from authserver.mfa.sms import OobAnswer, SmsFactor
from authserver.tokens.issuer import Tokens

_ALIAS_OF = {canonical: alias for alias, canonical in AUTH0_ALIASES.items()}


class MfaGrant(ProtektGrant, BaseGrant, TokenEndpointMixin):
    """Reads the mfa_token and the answer; the exchange decides (authserver.flows.mfa_exchange)."""

    CODE_PARAMETER: ClassVar[str]
    tokens: Tokens

    @classmethod
    def check_token_endpoint(cls, request: object) -> bool:
        grant_type = request.payload.grant_type  # type: ignore[attr-defined]
        return grant_type in (cls.GRANT_TYPE, _ALIAS_OF.get(cls.GRANT_TYPE))

    def factor(self) -> Factor:
        raise NotImplementedError

    def answer(self) -> Any:
        """The user's answer as the factor checks it; InvalidRequest when malformed."""
        code = self.param(self.CODE_PARAMETER)
        factor = self.factor()
        if not factor.well_formed(code):
            raise InvalidRequest(f"'{self.CODE_PARAMETER}' must be {factor.answer_format}.")
        return code

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        self.tokens = self.services.flows.mfa_exchange.run(
            self.param("mfa_token"), self.factor(), self.answer, client, self.request.client_ip)

    def create_token_response(self) -> Response:
        return self.respond(self.tokens.body)


class MfaOtpGrant(MfaGrant):
    """``mfa-otp``: a 6-digit code from an authenticator app (RFC 6238)."""

    GRANT_TYPE = MFA_OTP
    CODE_PARAMETER = "otp"

    def factor(self) -> OtpFactor:
        return self.services.mfa.otp


class MfaOobGrant(MfaGrant):
    """``mfa-oob``: the ``oob_code`` of an SMS challenge and the ``binding_code`` it sent."""

    GRANT_TYPE = MFA_OOB
    CODE_PARAMETER = "binding_code"
    _MAX_OOB_CODE = 100

    def factor(self) -> SmsFactor:
        return self.services.mfa.sms

    def answer(self) -> OobAnswer:
        oob_code = self.param("oob_code")
        if len(oob_code) > self._MAX_OOB_CODE:
            raise InvalidRequest("'oob_code' must be the oob_code /mfa/challenge answered.")
        return OobAnswer(oob_code, super().answer())


class MfaRecoveryCodeGrant(MfaGrant):
    """``mfa-recovery-code``: one recovery code; the answer says how many are left."""

    GRANT_TYPE = MFA_RECOVERY_CODE
    CODE_PARAMETER = "recovery_code"

    def factor(self) -> RecoveryCodeFactor:
        return self.services.mfa.recovery_code

    def create_token_response(self) -> Response:
        status, body, headers = super().create_token_response()
        remaining = self.services.mfa.recovery_codes.remaining(self.tokens.subject)
        return status, {**body, "recovery_codes_remaining": remaining}, headers
