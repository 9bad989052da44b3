"""Answers the blueprints share."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import Request, Response, jsonify


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


class PublicDocument:
    """A public JSON document (discovery, the JWKS) kept as bytes with its ETag, built again
    only when what it is made of changes (its *version*: the published keys, say).

    Any cache may keep it ``max_age`` seconds (RFC 9111 §5.2.2); a client that sends the ETag
    back in ``If-None-Match`` gets ``304 Not Modified`` without the body (RFC 9110 §13.1.2).
    """

    def __init__(self, build: Callable[[], Any], max_age: int) -> None:
        self._build = build
        self._cache_control = f"public, max-age={max_age}"
        self._prepared: tuple[Hashable, bytes, str] | None = None
        self._lock = threading.Lock()

    def response(self, version: Hashable, request: Request) -> Response:
        body, etag = self._current(version)
        response = Response(body, mimetype="application/json")
        response.headers["Cache-Control"] = self._cache_control
        response.set_etag(etag)
        return response.make_conditional(request)

    def _current(self, version: Hashable) -> tuple[bytes, str]:
        prepared = self._prepared
        if prepared is None or prepared[0] != version:
            with self._lock:
                body = json.dumps(self._build(), separators=(",", ":")).encode()
                etag = hashlib.sha256(body).hexdigest()[:32]
                prepared = self._prepared = (version, body, etag)
        return prepared[1], prepared[2]
