"""The client: ``Protekt(domain, client_id, client_secret)``, ``.authentication``, ``.mfa``,
and sign-in by redirect (``authorization_url``, ``exchange_code``, ``logout_url``)."""

from __future__ import annotations

import secrets

import requests

from protekt._transport import JSON, Transport, answer, json_body
from protekt.mfa import PASSKEY, Mfa, OobCodes, credential_text
from protekt.oidc import (
    REDIRECT_DEFAULT_SCOPE,
    IdTokenVerifier,
    check_issuer,
    check_state,
    code_challenge,
    new_verifier,
    nonce_for,
    valid_prompt,
    with_openid,
    with_query,
)
from protekt.resource import Jwks

#: Scope asked for when a login names none and no other API is the audience: an ID token, the
#: email claim, and the scopes that let the access token manage the user's own factors at /mfa/*
#: (README, API), so the guide's "log in, then enroll with the access token" works as written.
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

        Returns the token response, or, when the user must complete MFA (README, API, 403
        ``mfa_required``), ``{"mfa_required": True, "mfa_token", "mfa_requirements",
        "available_factors"}`` rather than raising, as the guide's code expects.
        """
        return self._sign_in({"grant_type": "password", **body})

    def passkey_challenge(self) -> JSON:
        """Start a passwordless sign-in (README, Passkeys): ``{"passkey_session", "options",
        "expires_in"}``. Hand ``options`` to the browser's ``navigator.credentials.get`` (after
        ``PublicKeyCredential.parseRequestOptionsFromJSON``); keep the session server-side."""
        return answer(self._transport.post_as_client("passkey_challenge_endpoint", {}))

    def login_with_passkey(self, body: JSON) -> JSON:
        """The passkey grant with the browser's answer: ``{"passkey_session", "credential"}``
        (``credential.toJSON()``, as a dict or JSON text), optional ``scope`` and ``audience``.
        Returns what :meth:`login` returns."""
        return self._sign_in({"grant_type": PASSKEY, **body,
                              "credential": credential_text(body.get("credential"))})

    def _sign_in(self, body: JSON) -> JSON:
        """A first-step grant: the tokens, or the mfa_required result."""
        form = {"audience": self._audience, **body}
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
        self._audience = audience
        self._id_tokens: IdTokenVerifier | None = None
        self.authentication = Authentication(self._transport, scope, audience)
        self.mfa = Mfa(self._transport, oob_codes)

    @property
    def issuer(self) -> str:
        """Protekt's URL, its issuer identifier (``iss``)."""
        return self._transport.domain

    def authorization_url(self, redirect_uri: str, *, scope: str = REDIRECT_DEFAULT_SCOPE,
                          state: str | None = None, prompt: str | None = None,
                          max_age: int | None = None, login_hint: str | None = None,
                          acr_values: str | None = None,
                          audience: str | None = None) -> tuple[str, str, str]:
        """Where to send the browser to sign in at Protekt (OIDC Core 1.0 §3.1.2.1, with PKCE
        S256, RFC 7636): ``(url, state, verifier)``. Keep ``state`` and ``verifier`` in the
        user's session for ``exchange_code``; the nonce is derived from the verifier.

        ``state`` defaults to a random one; ``audience`` to the client's; ``openid`` is added to
        a ``scope`` without it. ``prompt`` is ``none``, or any of ``login``, ``consent`` and
        ``select_account``, space-separated.
        """
        if prompt is not None and not valid_prompt(prompt):
            raise ValueError("prompt must be none, or any of login, consent, select_account, "
                             f"not {prompt!r}")
        if max_age is not None and (isinstance(max_age, bool) or max_age < 0):
            raise ValueError(f"max_age must be a whole number of seconds, not {max_age!r}")
        verifier = new_verifier()
        state = state or secrets.token_urlsafe(32)
        url = with_query(self._transport.endpoint("authorization_endpoint", "/authorize"), {
            "response_type": "code", "client_id": self._transport.client_id,
            "redirect_uri": redirect_uri, "scope": with_openid(scope), "state": state,
            "nonce": nonce_for(verifier), "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256", "prompt": prompt, "max_age": max_age,
            "login_hint": login_hint, "acr_values": acr_values,
            "audience": audience or self._audience,
        })
        return url, state, verifier

    def exchange_code(self, code: str, redirect_uri: str, verifier: str, *,
                      state: str | None = None, expected_state: str | None = None,
                      iss: str | None = None, max_age: int | None = None) -> JSON:
        """Finish a sign-in on the callback: the token response (RFC 6749 §4.1.3, §5.1).

        ``state`` (from the callback) must equal ``expected_state`` (the one kept), compared in
        constant time; leave both out only if the app compared them itself. An ``iss`` from the
        callback must be the issuer (RFC 9207). The ID token's signature (the issuer's JWKS),
        ``iss``, ``aud``, ``exp`` and ``nonce`` are checked, and ``auth_time`` when the login
        asked for ``max_age`` (OIDC Core 1.0 §3.1.3.7). Refusals raise ``ProtektError``:
        ``invalid_state``, ``invalid_issuer``, ``invalid_id_token``, or the server's code.
        """
        check_state(state, expected_state)
        check_issuer(iss, self._transport.domain)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        tokens = answer(self._transport.post_as_client("token_endpoint", form))
        self._id_token_verifier().verify(tokens.get("id_token"), nonce_for(verifier), max_age)
        return tokens

    def logout_url(self, id_token_hint: str | None = None,
                   post_logout_redirect_uri: str | None = None, state: str | None = None) -> str:
        """Where to send the browser to end the user's sign-in at Protekt too (OIDC
        RP-Initiated Logout 1.0 §2); forget the app's own session first."""
        return with_query(self._transport.endpoint("end_session_endpoint", "/logout"), {
            "id_token_hint": id_token_hint, "client_id": self._transport.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri, "state": state,
        })

    def _id_token_verifier(self) -> IdTokenVerifier:
        """Made on first use, with the issuer's keys at the metadata's ``jwks_uri``."""
        if self._id_tokens is None:
            uri = self._transport.endpoint("jwks_uri", "/.well-known/jwks.json")
            jwks = Jwks(uri, session=self._transport.session)
            self._id_tokens = IdTokenVerifier(self._transport.domain, self._transport.client_id,
                                              jwks)
        return self._id_tokens

