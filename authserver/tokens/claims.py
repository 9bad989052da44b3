"""What ID tokens and /userinfo say about the user (OIDC Core §5.1, §5.4), and the ``acr`` of a
login (OIDC Core §2; RFC 8176 ``amr``).

Claims follow the scopes granted: ``email`` and ``email_verified`` always (the email is the
login name), the ``profile`` claims the user has, with ``phone`` the user's verified MFA
phone, only if the user agreed to give it to this client on the consent page, and with
``groups`` the names of the user's groups (README, MFA policies). A phone counts
as verified once it has answered an SMS code (or was confirmed at enrollment).
"""

from __future__ import annotations

from typing import Any

from authserver.accounts.consents import Consents
from authserver.accounts.users import PROFILE_CLAIMS
from authserver.mfa.authenticators import Authenticators
from authserver.mfa.decision import MULTI_FACTOR, PHISHING_RESISTANT
from authserver.mfa.groups import Groups
from authserver.models import Authenticator, User
from authserver.scopes import GROUPS, PHONE, PROFILE

# OIDC Core §2 acr values (OpenID Provider Authentication Policy Extension 1.0 §5).
MULTI_FACTOR_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
# MFA with a factor that phishing cannot relay: a passkey or security key, bound to the RP ID
# (NIST SP 800-63B §5.2.5); amr ``hwk`` or ``swk`` beside ``mfa``.
PHISHING_RESISTANT_ACR = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
PASSWORD_ACR = "urn:protekt:acr:password"  # noqa: S105 (a password alone; no standard URI)
ACR_VALUES: tuple[str, ...] = (PHISHING_RESISTANT_ACR, MULTI_FACTOR_ACR, PASSWORD_ACR)
# acr_values by which an app demands a second factor (OIDC Core §3.1.2.1). A phishing-resistant
# request gets a second factor; the ID token's acr says whether it was a passkey.
MFA_ACR_VALUES: tuple[str, ...] = (MULTI_FACTOR_ACR, PHISHING_RESISTANT_ACR)
KEY_AMR = frozenset({"hwk", "swk"})  # RFC 8176 §2: proof of possession of a key


def acr_demand(acr_values: str) -> str | None:
    """What an authorization request's ``acr_values`` ask (OIDC Core §3.1.2.1): phishing-
    resistant MFA, multi-factor, or nothing this server knows (None)."""
    asked = set(acr_values.split())
    if PHISHING_RESISTANT_ACR in asked:
        return PHISHING_RESISTANT
    return MULTI_FACTOR if MULTI_FACTOR_ACR in asked else None


def acr_of(amr: tuple[str, ...] | list[str]) -> str:
    """The acr a login reached (RFC 8176 §2): phishing-resistant when its amr holds ``mfa``
    and a key's value, multi-factor with ``mfa`` alone, else the password's."""
    if "mfa" not in amr:
        return PASSWORD_ACR
    return PHISHING_RESISTANT_ACR if KEY_AMR & set(amr) else MULTI_FACTOR_ACR


class UserClaims:
    """Builds the user claims for a client and a scope."""

    def __init__(self, authenticators: Authenticators, consents: Consents,
                 groups: Groups) -> None:
        self._authenticators = authenticators
        self._consents = consents
        self._groups = groups

    def of(self, user: User, client_id: str, scope: tuple[str, ...]) -> dict[str, Any]:
        claims: dict[str, Any] = {"email": user.email, "email_verified": user.email_verified}
        if PROFILE in scope:
            claims.update(_profile(user))
        if GROUPS in scope:
            claims["groups"] = self._groups.names_of(user.id)
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
