"""Protekt: an OAuth 2.0 / OpenID Connect authorization server with multi-factor authentication."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool
from werkzeug.middleware.proxy_fix import ProxyFix

from authserver.api import register_api
from authserver.api.cors import register_cors
from authserver.api.inputs import refuse_control_characters
from authserver.authorization import AuthorizationServer
from authserver.config import Settings
from authserver.dashboard import register_dashboard
from authserver.extensions import db
from authserver.grants import GRANTS
from authserver.grants.revocation import TokenRevocation
from authserver.hosted import register_hosted
from authserver.services import build_services

MAX_REQUEST_BYTES = 64 * 1024  # far above any valid request; larger bodies get 413


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings (from PROTEKT_* when none given), database, services, routes."""
    settings = settings or Settings.from_env(os.environ)
    app = Flask(__name__)
    url = database_url(settings, Path(app.instance_path))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(url, settings),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    keys_engine = _keys_engine(url)
    if url.startswith("sqlite"):
        for each in (engine, keys_engine):
            event.listen(each, "connect", _sqlite_pragmas)
    services = build_services(settings, db.session, sessionmaker(keys_engine))
    app.extensions["protekt"] = services
    app.before_request(refuse_control_characters)  # first: nothing reads a bad request
    app.before_request(services.cache.begin)  # cached rows are checked once per request
    authorization = AuthorizationServer()
    authorization.init_services(app, services, GRANTS, (TokenRevocation,))
    app.extensions["protekt.authorization"] = authorization
    register_api(app, services)
    register_dashboard(app, services)
    register_hosted(app, services)
    register_cors(app, settings.cors_origins)
    _configure_logging(settings.log_level)
    return app


def database_url(settings: Settings, instance_path: Path) -> str:
    """The configured URL (postgresql:// means psycopg 3), or SQLite in the instance folder."""
    if settings.database_url is None:
        instance_path.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance_path / 'protekt.db'}"
    if settings.database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + settings.database_url.removeprefix("postgresql://")
    return settings.database_url


def _engine_options(url: str, settings: Settings) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {}
    return {
        "pool_pre_ping": True,  # a connection dropped by a database restart is replaced, not used
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": 5,
        "connect_args": {"connect_timeout": 3},  # an unreachable database answers 503 quickly
    }


def _keys_engine(url: str) -> Engine:
    """The key ring's own engine, without a pool: it reads the signing keys once a refresh
    interval and writes one on rotation, and must never wait for a connection that requests
    hold (a request may wait on the key ring while holding one). A connection of its own per
    load costs one connect every ``PROTEKT_KEYS_REFRESH_INTERVAL``."""
    connect_args = {} if url.startswith("sqlite") else {"connect_timeout": 3}
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; writers wait up to 5 s for the lock."""
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("authserver")
    logger.setLevel(level)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


__all__ = ["create_app"]
