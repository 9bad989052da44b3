"""The admin dashboard at /dashboard: server-rendered pages over the same domain services as the
management API (:mod:`authserver.dashboard.web` says what every page shares)."""

from __future__ import annotations

from flask import Flask

from authserver.dashboard import (  # noqa: F401  (importing them adds their routes)
    application_pages,
    group_pages,
    monitoring_pages,
    security_pages,
    signin_pages,
    user_pages,
)
from authserver.dashboard.web import register
from authserver.encryption import Encryptor
from authserver.flows.dashboard_signin import AdminSignIn
from authserver.services import Services

COOKIE = "protekt-dashboard"


def register_dashboard(app: Flask, services: Services) -> None:
    """Mount /dashboard; its cookie is signed with a key derived from the encryption key."""
    secure = services.settings.issuer.startswith("https://")
    app.config.update(
        SECRET_KEY=Encryptor(services.settings.encryption_keys).derive_key("dashboard-cookie"),
        SESSION_COOKIE_NAME=f"__Host-{COOKIE}" if secure else COOKIE,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
    )
    sign_in = AdminSignIn(services.session, services.login, services.mfa, services.audit)
    register(app, sign_in)
