"""Blueprints: the thin HTTP layer over the domain modules."""

from __future__ import annotations

from flask import Flask

from authserver.api import health, management, metrics, mfa, oauth, oidc
from authserver.api.errors import register_error_handlers


def register_api(app: Flask) -> None:
    register_error_handlers(app)
    for module in (oauth, oidc, mfa, management, health, metrics):
        app.register_blueprint(module.bp)
