"""An API that accepts Protekt access tokens, with the Python SDK's Flask decorator.

    PROTEKT_ISSUER=http://127.0.0.1:8000 API_AUDIENCE=https://api.example.com PORT=5001 \\
        python examples/resource-servers/python/app.py

``GET /health`` needs nothing; ``GET /messages`` needs scope ``read:messages``;
``GET /messages/secret`` needs it too, from a login with a second factor (``mfa`` in ``amr``).
The Node server beside it answers the same.
"""

from __future__ import annotations

import os

from flask import Flask, g

from protekt import AccessTokenVerifier
from protekt.flask import require_access_token


def create_app(issuer: str, audience: str) -> Flask:
    app = Flask(__name__)
    verifier = AccessTokenVerifier(issuer, audience)

    @app.get("/health")
    def health() -> dict[str, str]:  # no token: the baseline of scripts/bench_sdk.py
        return {"status": "ok"}

    @app.get("/messages")
    @require_access_token(verifier, scope="read:messages")
    def messages() -> dict[str, object]:
        return {"sub": g.access_token["sub"], "amr": g.access_token["amr"]}

    @app.get("/messages/secret")
    @require_access_token(verifier, scope="read:messages", mfa=True)
    def secret_messages() -> dict[str, object]:
        return {"sub": g.access_token["sub"], "amr": g.access_token["amr"]}

    return app


if __name__ == "__main__":
    api = create_app(os.environ["PROTEKT_ISSUER"], os.environ["API_AUDIENCE"])
    api.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5001")))
