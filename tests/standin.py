"""A stand-in for Protekt on loopback, as far as a relying party sees it: the discovery document,
the JWKS (one EC key, kid ``k1``) and a token endpoint answering with ES256-signed ID tokens.

Tests configure it through attributes (``nonce``, ``claims``, ``metadata``, ``jwks_status``,
``token_answer``, ``routes``) and subclass it where their tokens differ (``tokens()``). It
records every form posted to it with the request's path and Authorization header. Use it as a
context manager: ``with StandIn(client_id) as fake: ...`` serves it on a thread until the end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self, cast
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

KID = "k1"
Answer = tuple[int, Any]  # a status and the JSON body sent with it


class Post(NamedTuple):
    """A form posted to the stand-in."""

    path: str
    form: dict[str, str]
    authorization: str | None


class _Server(ThreadingHTTPServer):
    stand_in: StandIn


class _Handler(BaseHTTPRequestHandler):
    @property
    def stand_in(self) -> StandIn:
        return cast(_Server, self.server).stand_in

    def do_GET(self) -> None:
        self.reply(*self.stand_in.get(self.path))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {name: values[0] for name, values in parse_qs(body).items()}
        self.reply(*self.stand_in.post(Post(self.path, form, self.headers.get("Authorization"))))

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class StandIn:
    """Protekt's discovery, JWKS and token endpoint for ``client_id``.

    - ``metadata``: discovery entries added or replaced (``None`` leaves one out);
    - ``jwks_status``: the JWKS endpoint's status;
    - ``nonce``, ``claims``: the ID token's nonce (the authorization request's, set by the test)
      and claims added or replaced (``None`` leaves one out); ``signer`` signs it;
    - ``token_answer``: a fixed answer of the token endpoint instead of ``tokens()``;
    - ``routes``: further answers by ``"GET /path"`` or ``"POST /path"``; other posts get
      ``200 {}``.
    """

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.signer = self.key
        self.nonce: str | None = None
        self.claims: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.jwks_status = 200
        self.token_answer: Answer | None = None
        self.routes: dict[str, Callable[[], Answer]] = {}
        self.posts: list[Post] = []
        self.issued = 0
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.stand_in = self
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # what it answers

    def get(self, path: str) -> Answer:
        if route := self.routes.get(f"GET {path}"):
            return route()
        if path == "/.well-known/openid-configuration":
            return 200, self.discovery()
        if path == "/.well-known/jwks.json":
            return self.jwks_status, self.jwks()
        return 404, {"error": "not_found"}

    def post(self, post: Post) -> Answer:
        self.posts.append(post)
        if route := self.routes.get(f"POST {post.path}"):
            return route()
        if post.path == "/oauth/token":
            return self.token_answer or (200, self.tokens())
        return 200, {}

    def discovery(self) -> dict[str, Any]:
        base = self.url
        body = {"issuer": base, "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "end_session_endpoint": f"{base}/logout",
                "jwks_uri": f"{base}/.well-known/jwks.json", **self.metadata}
        return {name: value for name, value in body.items() if value is not None}

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "alg": "ES256", "use": "sig"}]}

    def id_token(self, **claims: Any) -> str:
        """An ID token for the client and ``nonce``, with ``claims`` then ``self.claims``."""
        now = int(time.time())
        body = {"iss": self.url, "sub": "user-1", "aud": self.client_id, "exp": now + 300,
                "iat": now, "auth_time": now, "nonce": self.nonce, **claims, **self.claims}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, self.signer, algorithm="ES256",
                          headers={"kid": KID, "typ": "JWT"})

    def tokens(self, **claims: Any) -> dict[str, Any]:
        """The token endpoint's answer: tokens numbered from 1, the ID token with ``claims``."""
        self.issued += 1
        return {"access_token": f"at-{self.issued}", "token_type": "Bearer", "expires_in": 900,
                "refresh_token": f"rt-{self.issued}", "id_token": self.id_token(**claims)}

    # what it was sent

    @property
    def forms(self) -> list[dict[str, str]]:
        return [post.form for post in self.posts]

    @property
    def authorizations(self) -> list[str | None]:
        return [post.authorization for post in self.posts]

    def posted(self, path: str) -> list[dict[str, str]]:
        return [post.form for post in self.posts if post.path == path]
