"""What ID tokens and /userinfo say about the user (OIDC Core §5.1, §5.4), and the ``acr`` of a
login (OIDC Core §2; RFC 8176 ``amr``).

Claims follow the scopes granted: ``email`` and ``email_verified`` always (the email is the
login name), the ``profile`` claims the user has, and with ``phone`` the user's verified MFA
phone, only if the user agreed to give it to this client on the consent page. A phone counts
as verified once it has answered an SMS code (or was confirmed at enrollment).
"""

from __future__ import annotations

from typing import Any

from authserver.accounts.consents import Consents
from authserver.accounts.users import PROFILE_CLAIMS
from authserver.mfa.authenticators import Authenticators
from authserver.models import Authenticator, User
from authserver.scopes import PHONE, PROFILE

# OIDC Core §2 acr values (OpenID Provider Authentication Policy Extension 1.0 §5).
# The phishing-resistant value (…/phishing-resistant) comes with passkeys, which can meet it.
MULTI_FACTOR_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PASSWORD_ACR = "urn:protekt:acr:password"  # noqa: S105 (a password alone; no standard URI)
ACR_VALUES: tuple[str, ...] = (MULTI_FACTOR_ACR, PASSWORD_ACR)
# acr_values by which an app demands a second factor (OIDC Core §3.1.2.1); until passkeys, a
# phishing-resistant request gets the best there is, and the ID token's acr says which.
MFA_ACR_VALUES: tuple[str, ...] = (
    MULTI_FACTOR_ACR, "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant")


def acr_of(amr: tuple[str, ...] | list[str]) -> str:
    """The acr a login reached: multi-factor when its amr holds ``mfa`` (RFC 8176 §2)."""
    return MULTI_FACTOR_ACR if "mfa" in amr else PASSWORD_ACR


class UserClaims:
    """Builds the user claims for a client and a scope."""

    def __init__(self, authenticators: Authenticators, consents: Consents) -> None:
        self._authenticators = authenticators
        self._consents = consents

    def of(self, user: User, client_id: str, scope: tuple[str, ...]) -> dict[str, Any]:
        claims: dict[str, Any] = {"email": user.email, "email_verified": user.email_verified}
        if PROFILE in scope:
            claims.update(_profile(user))
        if PHONE in scope and PHONE in self._consents.granted(user.id, client_id):
            claims.update(self._phone(user.id))
        return claims

    def _phone(self, user_id: str) -> dict[str, Any]:
        verified = [a for a in self._authenticators.of_user(user_id, active=True)
                    if a.phone_ciphertext is not None and _proven(a)]
        if not verified:
            return {}
        number = self._authenticators.phone(verified[0])
        return {"phone_number": number.e164, "phone_number_verified": True}


def _proven(authenticator: Authenticator) -> bool:
    return authenticator.confirmed_at is not None or authenticator.last_used_at is not None


def _profile(user: User) -> dict[str, Any]:
    claims: dict[str, Any] = {name: getattr(user, name) for name in PROFILE_CLAIMS
                              if getattr(user, name)}
    if user.updated_at is not None:
        claims["updated_at"] = int(user.updated_at.timestamp())  # OIDC Core §5.1: seconds
    return claims
