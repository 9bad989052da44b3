"""The hosted pages of the browser sign-in: ``/authorize``, the sign-in, second-factor,
enrollment and consent pages, and ``/logout`` (:mod:`authserver.hosted.web` says what they
share)."""

from __future__ import annotations

from flask import Flask

from authserver.encryption import Encryptor
from authserver.hosted import authorize, logout, pages  # noqa: F401  (importing adds routes)
from authserver.hosted.signin import HostedSignIn
from authserver.hosted.web import register
from authserver.services import Services


def register_hosted(app: Flask, services: Services) -> None:
    """Mount the pages; their cookies are signed with a key derived from the encryption key."""
    key = Encryptor(services.settings.encryption_keys).derive_key("signin-cookies")
    register(app, HostedSignIn(services), key)
