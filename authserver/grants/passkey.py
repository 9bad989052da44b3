"""Passkeys at the token endpoint (README, Passkeys).

``mfa-webauthn`` finishes a login's second step with the browser's answer to a ``webauthn``
challenge (or, while the user enrolls during login, its registration of the new passkey);
``passkey`` signs a user in without a password, with the answer to ``POST /passkey/challenge``.
``credential`` is the browser's PublicKeyCredential, JSON-encoded (``credential.toJSON()``).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin

from authserver.clients import MFA_WEBAUTHN, PASSKEY
from authserver.flows.password_login import MfaRequired
from authserver.grants.base import ProtektGrant, Response
from authserver.grants.mfa import MfaGrant
from authserver.mfa.factors import WebauthnFactor
from authserver.mfa.webauthn import parse_assertion
from authserver.tokens.issuer import Tokens


class MfaWebauthnGrant(MfaGrant):
    """``mfa-webauthn``: a passkey or security key as the second factor."""

    GRANT_TYPE = MFA_WEBAUTHN
    CODE_PARAMETER = "credential"

    def factor(self) -> WebauthnFactor:
        return self.services.mfa.webauthn

    def answer(self) -> Any:
        return self.factor().parse(self.param(self.CODE_PARAMETER))


class PasskeyGrant(ProtektGrant, BaseGrant, TokenEndpointMixin):
    """``passkey``: a passwordless sign-in (authserver.flows.passkey_signin)."""

    GRANT_TYPE = PASSKEY
    outcome: Tokens | MfaRequired

    def validate_token_request(self) -> None:
        client = self.authenticated_client()
        request = self.login_request(client)
        passkey_session = self.param("passkey_session")
        credential = parse_assertion(self.param("credential"))
        self.outcome = self.services.flows.passkey_signin.run(
            passkey_session, credential, request, self.request.client_ip)

    def create_token_response(self) -> Response:
        return self.login_response(self.outcome)
