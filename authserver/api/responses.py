"""Answers the blueprints share."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

OPENAPI_MAX_AGE = 3600  # the OpenAPI documents change only with a new release


def no_store(body: Any) -> Response:
    """JSON that no cache may keep: tokens, secrets, codes, user data (RFC 9111 §5.2.2.5)."""
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def cacheable(body: Any, max_age: int) -> Response:
    """JSON that any cache may keep for ``max_age`` seconds: public documents (RFC 9111 §5.2.2)."""
    response = jsonify(body)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response
