"""Objects bound to an app in create_app: the database, and proxies to the app's services."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from werkzeug.local import LocalProxy

from authserver.models import Base

if TYPE_CHECKING:
    from authserver.authorization import AuthorizationServer
    from authserver.services import Services

# A unit of work commits once, at its end; nothing is read again after it (no expire on commit),
# so the rows a request loaded serve it to the end without another SELECT.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def _services() -> Services:
    return cast("Services", current_app.extensions["protekt"])


def _authorization() -> AuthorizationServer:
    return cast("AuthorizationServer", current_app.extensions["protekt.authorization"])


services: Services = cast("Services", LocalProxy(_services))
authorization: AuthorizationServer = cast("AuthorizationServer", LocalProxy(_authorization))
