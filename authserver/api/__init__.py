"""Blueprints: the thin HTTP layer over the domain modules."""

from __future__ import annotations

from flask import Flask

from authserver.api import health, management, metrics, mfa, oauth, oidc
from authserver.api.documents import PublicDocuments
from authserver.api.errors import register_error_handlers
from authserver.services import Services


def register_api(app: Flask, services: Services) -> None:
    """The blueprints, the error handlers, and discovery and the JWKS served in front of Flask
    (authserver.api.documents)."""
    register_error_handlers(app)
    documents = PublicDocuments(
        app.wsgi_app, oidc.public_documents(services.settings, services.keyring),
        frozenset(services.settings.cors_origins),
    )
    app.extensions["protekt.documents"] = documents
    app.wsgi_app = documents  # type: ignore[method-assign]
    for module in (oauth, oidc, mfa, management, health, metrics):
        app.register_blueprint(module.bp)
