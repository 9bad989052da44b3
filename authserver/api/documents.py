"""Discovery (OIDC Discovery 1.0 §4, RFC 8414 §3) and the JWKS (RFC 7517 §5) as prepared bytes.

Resource servers and SDKs fetch these far more often than anything else, and they are the same
for everyone: each is kept as bytes with its ETag and built again only when what it is made of
changes (the published keys; their algorithms). They are answered by a WSGI layer in front of
Flask, which does no routing, opens no app context and runs no request hook, so answering one
costs little more than writing it. The answer is what the Flask routes of authserver.api.oidc
would give: ``Cache-Control: public`` (RFC 9111 §5.2.2.9), an ETag and ``304 Not Modified`` for
``If-None-Match`` (RFC 9110 §13.1.2), and the CORS headers of an allowed origin.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from werkzeug.http import parse_etags, quote_etag

from authserver.api.cors import origin_headers

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PublicDocument:
    """One document: ``build`` makes it, ``version`` says what it is made of."""

    def __init__(self, build: Callable[[], Any], version: Callable[[], Hashable],
                 max_age: int) -> None:
        self._build = build
        self._version = version
        self.cache_control = f"public, max-age={max_age}"
        self._prepared: tuple[Hashable, bytes, str] | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[bytes, str]:
        """The document's bytes and ETag, built again if its version changed."""
        version = self._version()
        prepared = self._prepared
        if prepared is None or prepared[0] != version:
            with self._lock:
                body = json.dumps(self._build(), separators=(",", ":")).encode()
                prepared = self._prepared = (version, body, hashlib.sha256(body).hexdigest()[:32])
        return prepared[1], prepared[2]


class PublicDocuments:
    """WSGI middleware: GET and HEAD of the documents' paths; anything else goes to ``app``."""

    def __init__(self, app: WsgiApp, documents: dict[str, PublicDocument],
                 cors_origins: frozenset[str]) -> None:
        self._app = app
        self._documents = documents
        self._cors_origins = cors_origins

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") not in self._documents or method not in ("GET", "HEAD"):
            return self._app(environ, start_response)
        status, headers, body = self.answer(environ)
        start_response(status, headers)
        return [] if method == "HEAD" else [body]

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Status, headers and body for the path: the document, or 304 when the client's
        ``If-None-Match`` names this version."""
        document = self._documents[environ["PATH_INFO"]]
        body, etag = document.current()
        headers = [("Content-Type", "application/json"),
                   ("Cache-Control", document.cache_control),
                   ("ETag", quote_etag(etag))]
        if self._cors_origins:
            headers.append(("Vary", "Origin"))
            headers += origin_headers(environ.get("HTTP_ORIGIN"), self._cors_origins)
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(etag):
            return "304 Not Modified", headers, b""
        return "200 OK", [*headers, ("Content-Length", str(len(body)))], body
