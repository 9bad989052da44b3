"""The Python SDK facing a server that is not the Protekt it expects (a wrong domain, a
misconfigured proxy, a hostile metadata document): it sends no credentials elsewhere and raises
its one error type. A scripted server on loopback plays that server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from protekt import Protekt, ProtektError


class Scripted:
    """Answers each path with the (status, headers, body) set for it; records what came in."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.received: list[tuple[str, str, dict[str, str]]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.reply()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.reply()

            def reply(self) -> None:
                scripted.received.append((self.command, self.path, dict(self.headers)))
                status, headers, body = scripted.answers.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def json(self, path: str, body: Any, status: int = 200, **headers: str) -> None:
        self.answers[path] = (status, {"Content-Type": "application/json", **headers},
                              json.dumps(body).encode())

    def metadata(self, **overrides: str) -> None:
        self.json("/.well-known/openid-configuration", {
            "issuer": self.url, "token_endpoint": f"{self.url}/oauth/token", **overrides})


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    threading.Thread(target=scripted.server.serve_forever, daemon=True).start()
    yield scripted
    scripted.server.shutdown()


def login(server: Scripted) -> Any:
    sdk = Protekt(server.url, "my-client", "my-secret")
    return sdk.authentication.login({"username": "ann@example.org", "password": "hunter2"})


def refused(server: Scripted) -> ProtektError:
    with pytest.raises(ProtektError) as raised:
        login(server)
    return raised.value


def test_metadata_naming_another_issuer_is_refused_before_any_credential_is_sent(
    server: Scripted,
) -> None:
    server.metadata(issuer="https://auth.example.com")
    error = refused(server)
    assert error.error == "server_error" and "names another issuer" in str(error)
    assert [method for method, _, _ in server.received] == ["GET"]


def test_an_endpoint_outside_the_domain_gets_nothing(server: Scripted) -> None:
    server.metadata(token_endpoint="https://collector.example/token")
    error = refused(server)
    assert error.error == "server_error" and "token_endpoint" in str(error)
    assert [method for method, _, _ in server.received] == ["GET"]


def test_a_redirect_is_not_followed_with_the_credentials(server: Scripted) -> None:
    server.metadata()
    server.answers["/oauth/token"] = (307, {"Location": f"{server.url}/elsewhere"}, b"")
    assert refused(server).status == 307
    assert [path for _, path, _ in server.received] == [
        "/.well-known/openid-configuration", "/oauth/token"]


@pytest.mark.parametrize(("status", "body"), [
    (200, b"<html>captive portal</html>"),
    (502, b"Bad Gateway"),
    (400, b"[1, 2]"),
])
def test_answers_that_are_not_protekts_are_server_errors(server: Scripted, status: int,
                                                         body: bytes) -> None:
    server.metadata()
    server.answers["/oauth/token"] = (status, {"Content-Type": "text/html"}, body)
    error = refused(server)
    assert (error.error, error.status) == ("server_error", status)


def test_mfa_required_without_an_mfa_token_is_raised_not_returned(server: Scripted) -> None:
    server.metadata()
    server.json("/oauth/token", {"error": "mfa_required"}, status=403)
    error = refused(server)
    assert (error.error, error.status) == ("mfa_required", 403)


@pytest.mark.parametrize(("header", "seconds"), [("30", 30), ("²", None), ("-1", None),
                                                  ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_retry_after_is_whole_seconds_or_nothing(server: Scripted, header: str,
                                                 seconds: int | None) -> None:
    server.metadata()
    server.json("/oauth/token", {"error": "too_many_attempts"}, status=429,
                **{"Retry-After": header})
    assert refused(server).retry_after == seconds


@pytest.mark.parametrize(("body", "login_again"), [
    ({"error": "too_many_attempts", "login_again": True}, True),
    ({"error": "too_many_attempts"}, False),
    ({"error": "too_many_attempts", "login_again": "true"}, False),
])
def test_login_again_tells_a_void_mfa_token_from_a_lockout(
        server: Scripted, body: dict[str, object], login_again: bool) -> None:
    server.metadata()
    server.json("/oauth/token", body, status=429, **{"Retry-After": "240"})
    assert refused(server).login_again is login_again


def test_a_domain_in_the_clear_off_this_machine_is_refused() -> None:
    with pytest.raises(ValueError, match="must use https"):
        Protekt("http://auth.example.com", "client")
    assert Protekt("http://localhost:8000", "client") is not None
