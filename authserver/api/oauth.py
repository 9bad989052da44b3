"""The token endpoint (RFC 6749 §3.2) and the revocation endpoint (RFC 7009)."""

from __future__ import annotations

from flask import Blueprint, Response

from authserver.extensions import authorization

bp = Blueprint("oauth", __name__)


@bp.post("/oauth/token")
def token() -> Response:
    return authorization.create_token_response()


@bp.post("/oauth/revoke")
def revoke() -> Response:
    return authorization.create_endpoint_response("revocation")
