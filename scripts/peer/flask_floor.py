"""The floor under any Flask token endpoint: the least a client_credentials answer can cost on
the stack Protekt is built on (Flask on granian, joserfc signing RS256 with a 2048-bit key), with
no database, no Redis, no Authlib and no checks beyond one client secret compared in constant
time. scripts/bench_peer.py runs it beside Protekt and node-oidc-provider, one process each, to
show how much of the distance to the peer is the stack's and how much Protekt's own.

Not a server to use: it keeps its key in memory and knows one client (FLOOR_CLIENT_ID,
FLOOR_CLIENT_SECRET). Served by ``granian --interface wsgi --factory
scripts.peer.flask_floor:create_app``.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time

from flask import Flask, Response, request
from joserfc import jwt
from joserfc.jwk import RSAKey

HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def create_app() -> Flask:
    app = Flask(__name__)
    key = RSAKey.generate_key(2048, parameters={"kid": "floor"}, private=True)
    client_id, secret = os.environ["FLOOR_CLIENT_ID"], os.environ["FLOOR_CLIENT_SECRET"]

    def answer(body: dict[str, object], status: int) -> Response:
        return Response(json.dumps(body), status, mimetype="application/json", headers=HEADERS)

    @app.get("/health")
    def health() -> Response:
        return answer({"status": "ok"}, 200)

    @app.post("/token")
    def token() -> Response:
        auth = request.authorization
        if auth is None or auth.username != client_id or not hmac.compare_digest(
                (auth.password or "").encode(), secret.encode()):
            return answer({"error": "invalid_client"}, 401)
        if request.form.get("grant_type") != "client_credentials":
            return answer({"error": "unsupported_grant_type"}, 400)
        now = int(time.time())
        claims = {"iss": request.host_url, "sub": client_id, "aud": request.host_url,
                  "client_id": client_id, "scope": "", "iat": now, "exp": now + 900,
                  "jti": secrets.token_urlsafe(16)}
        header = {"alg": "RS256", "kid": "floor", "typ": "at+jwt"}
        return answer({"access_token": jwt.encode(header, claims, key), "token_type": "Bearer",
                       "expires_in": 900}, 200)

    return app
