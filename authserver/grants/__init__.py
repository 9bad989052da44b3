"""One Authlib grant class per grant type; each is thin and calls the domain modules."""

from authserver.grants.authorization_code import AuthorizationCodeGrant
from authserver.grants.client_credentials import ClientCredentialsGrant
from authserver.grants.mfa import MfaOobGrant, MfaOtpGrant, MfaRecoveryCodeGrant
from authserver.grants.passkey import MfaWebauthnGrant, PasskeyGrant
from authserver.grants.password import PasswordGrant
from authserver.grants.refresh_token import RefreshTokenGrant

GRANTS = (AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant, ClientCredentialsGrant,
          MfaOtpGrant, MfaOobGrant, MfaRecoveryCodeGrant, MfaWebauthnGrant, PasskeyGrant)

__all__ = [
    "GRANTS", "AuthorizationCodeGrant", "ClientCredentialsGrant", "MfaOobGrant", "MfaOtpGrant",
    "MfaRecoveryCodeGrant", "MfaWebauthnGrant", "PasskeyGrant", "PasswordGrant",
    "RefreshTokenGrant",
]
