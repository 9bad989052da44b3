"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from authserver.extensions import db, services

bp = Blueprint("health", __name__)


@bp.get("/health")
def live() -> Response:
    """The process answers; touches nothing else."""
    return jsonify(status="ok")


@bp.get("/health/ready")
def ready() -> Response:
    """The database and the store answer; otherwise 503 temporarily_unavailable."""
    db.session.execute(text("SELECT 1"))
    services.store.ping()
    return jsonify(status="ok")
