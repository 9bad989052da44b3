"""The client: ``Protekt(domain, client_id, client_secret)``, ``.authentication``, ``.mfa``."""

from __future__ import annotations

import requests

from protekt._transport import JSON, Transport, answer, json_body
from protekt.mfa import Mfa, OobCodes

#: Scope asked for when a login names none and no other API is the audience: an ID token, the
#: email claim, and the scopes that let the access token manage the user's own factors at /mfa/*
#: (API.md §3), so the guide's "log in, then enroll with the access token" works as written.
DEFAULT_SCOPE = "openid email enroll read:authenticators remove:authenticators"
#: With another API as the audience: no factor scopes, which Protekt refuses in a token an API
#: could replay at /mfa/* (RFC 8707 §2).
API_DEFAULT_SCOPE = "openid email"

MFA_REQUIRED = "mfa_required"


class Authentication:
    """The token endpoint for users: password login, refresh, revocation, userinfo."""

    def __init__(self, transport: Transport, scope: str | None, audience: str | None) -> None:
        self._transport = transport
        self._scope = scope
        self._audience = audience

    def login(self, body: JSON) -> JSON:
        """Password grant (RFC 6749 §4.3); ``username`` and ``password``, optional ``scope``
        and ``audience``.

        Returns the token response, or, when the user must complete MFA (API.md §2, 403
        ``mfa_required``), ``{"mfa_required": True, "mfa_token", "mfa_requirements",
        "available_factors"}`` rather than raising, as the guide's code expects.
        """
        form = {"grant_type": "password", "audience": self._audience, **body}
        form.setdefault("scope", self._scope or self._default_scope(form["audience"]))
        response = self._transport.post_as_client("token_endpoint", form)
        refusal = json_body(response)
        if (response.status_code == 403 and isinstance(refusal, dict)
                and refusal.get("error") == MFA_REQUIRED and "mfa_token" in refusal):
            return {"mfa_required": True, "mfa_token": refusal["mfa_token"],
                    "mfa_requirements": refusal.get("mfa_requirements", {}),
                    "available_factors": refusal.get("available_factors", [])}
        return answer(response)

    def _default_scope(self, audience: str | None) -> str:
        own = audience is None or audience.rstrip("/") == self._transport.domain
        return DEFAULT_SCOPE if own else API_DEFAULT_SCOPE

    def refresh(self, refresh_token: str, scope: str | None = None) -> JSON:
        """New tokens for a refresh token (RFC 6749 §6); keep the new, rotated refresh token."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": scope}
        return answer(self._transport.post_as_client("token_endpoint", form))

    def revoke(self, token: str, token_type_hint: str | None = None) -> None:
        """Revoke a refresh token (and its family) or an access token (RFC 7009 §2.1)."""
        form = {"token": token, "token_type_hint": token_type_hint}
        answer(self._transport.post_as_client("revocation_endpoint", form))

    def userinfo(self, access_token: str) -> JSON:
        """The user's claims (OIDC Core §5.3)."""
        url = self._transport.endpoint("userinfo_endpoint")
        return self._transport.call("GET", url, bearer=access_token)


class Protekt:
    """A Protekt server as seen by one client application.

    ``domain`` is the server's URL (its issuer; https, or http on this machine);
    ``client_secret`` only for confidential clients. ``audience`` is the API the tokens are for
    (none: Protekt's own endpoints). ``scope`` is asked for when a login names none; by default
    DEFAULT_SCOPE, or API_DEFAULT_SCOPE when ``audience`` is another API. ``oob_codes``
    remembers SMS challenges between ``mfa.challenge`` and ``mfa.verify``; give a shared one when
    several processes serve a login.
    """

    def __init__(self, domain: str, client_id: str, client_secret: str | None = None, *,
                 scope: str | None = None, audience: str | None = None,
                 timeout: float = 10.0, session: requests.Session | None = None,
                 oob_codes: OobCodes | None = None) -> None:
        self._transport = Transport(domain, client_id, client_secret, timeout, session)
        self.authentication = Authentication(self._transport, scope, audience)
        self.mfa = Mfa(self._transport, oob_codes)

