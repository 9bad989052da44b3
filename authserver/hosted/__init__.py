"""The hosted pages of the browser sign-in: ``/authorize``, the sign-in, second-factor,
enrollment and consent pages, and ``/logout`` (:mod:`authserver.hosted.web` says what they
share)."""

from __future__ import annotations

from flask import Flask

from authserver.accounts.interactions import Interactions
from authserver.encryption import Encryptor
from authserver.flows.hosted_signin import HostedSignIn, SignInParts
from authserver.hosted import authorize, logout, pages  # noqa: F401  (importing adds routes)
from authserver.hosted.web import register
from authserver.services import Services


def register_hosted(app: Flask, services: Services) -> None:
    """Mount the pages; their cookies are signed with a key derived from the encryption key."""
    key = Encryptor(services.settings.encryption_keys).derive_key("signin-cookies")
    parts = SignInParts(
        session=services.session, issuer=services.settings.issuer, keyring=services.keyring,
        users=services.users, login=services.login, mfa=services.mfa,
        challenge=services.flows.mfa_challenge, factors=services.flows.factor_management,
        sso_sessions=services.sso_sessions, refresh_tokens=services.refresh_tokens,
        consents=services.consents, audit=services.audit,
        interactions=Interactions(services.store.namespace("signin")),
        passkeys=services.flows.passkey_signin,
    )
    register(app, HostedSignIn(parts), key)
