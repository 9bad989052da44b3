"""Local HTTP servers standing in for Twilio and for an SMS webhook receiver.

Each runs a ``ThreadingHTTPServer`` on 127.0.0.1 (free port) in a daemon thread for the length of
a ``with`` block, records every request, and can answer slowly (``delay``) to provoke timeouts.

:class:`FakeTwilio` speaks the Messages resource of Twilio's REST API as the real one does:
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic auth with the
Account SID and Auth Token. Its answers follow Twilio's documented ones: the JSON error body
``{"code", "message", "more_info", "status"}`` (twilio.com/docs/usage/twilios-response), 401 code
20003 "Authenticate" for bad credentials and for an Account SID in the path other than the
authenticated one ("Using subaccount credentials to access master account" is a listed cause at
twilio.com/docs/api/errors/20003), and 400 codes 21604, 21603, 21602 and 21211 for a missing
To, From, Body and a To that is not E.164. The order of those checks is this fake's choice.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

Answer = tuple[int, dict[str, str], bytes]

_MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes = field(repr=False)

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per field."""
        return {k: v[0] for k, v in parse_qs(self.raw.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    fake: LocalServer


class LocalServer:
    """A loopback HTTP server in a daemon thread; subclasses decide the answers."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.01})  # quick shutdown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()  # wakes handlers still sleeping out a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        request = Recorded(handler.command, handler.path, dict(handler.headers.items()), raw)
        with self._lock:
            self.requests.append(request)
            status, headers, body = self.answer(request)
        self._closing.wait(self.delay)
        with contextlib.suppress(OSError):  # the client may have timed out and gone
            handler.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)

    def answer(self, request: Recorded) -> Answer:
        raise NotImplementedError


def _json(status: int, document: dict[str, Any], **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(document).encode()


def twilio_error(status: int, code: int, message: str) -> Answer:
    """An error answer in Twilio's JSON shape."""
    document = {"code": code, "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    extra = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
    return _json(status, document, **extra)


class FakeTwilio(LocalServer):
    """Twilio's Messages resource for one account."""

    def __init__(self, account_sid: str, auth_token: str, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.message_status: str | None = None  # None: what Twilio answers for a new message
        self.created: list[dict[str, Any]] = []  # every Message resource answered
        self._failure: Answer | None = None

    def fail_with(self, status: int, code: int, message: str) -> None:
        """Answer every following request with this Twilio error."""
        self._failure = twilio_error(status, code, message)

    def answer(self, request: Recorded) -> Answer:
        if self._failure is not None:
            return self._failure
        path = _MESSAGES_PATH.fullmatch(request.path)
        if path is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authenticated(request, path["account"]):
            return twilio_error(401, 20003, "Authenticate")
        refusal = self._validate(request.form)
        if refusal is not None:
            return refusal
        self.created.append(self._message(request.form))
        return _json(201, self.created[-1])

    def _authenticated(self, request: Recorded, account: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.headers.get("Authorization", "")
        return account == self.account_sid and hmac.compare_digest(given, f"Basic {expected}")

    @staticmethod
    def _validate(form: dict[str, str]) -> Answer | None:
        to = form.get("To", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if not _E164.fullmatch(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        return None

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        """The Message resource as Twilio returns it on create (a Messaging Service picks the
        sender later, so such a message starts ``accepted`` with no ``from`` and 0 segments)."""
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        now = format_datetime(datetime.now(UTC))
        service = form.get("MessagingServiceSid")
        pending = service is not None and "From" not in form
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form["Body"],
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": service, "num_media": "0",
            "num_segments": "0" if pending else str(segments(form["Body"])), "price": None,
            "price_unit": "USD", "sid": sid,
            "status": self.message_status or ("accepted" if pending else "queued"),
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": form["To"],
            "uri": f"{uri}.json",
        }


def segments(body: str) -> int:
    """SMS segments: 160/153 characters in GSM-7 (approximated as ASCII), 70/67 in UCS-2."""
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)


class FakeWebhook(LocalServer):
    """An SMS gateway receiving Protekt's signed webhook; answers ``statuses`` in order, then
    repeats the last one."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.statuses = list(statuses or [200])

    def answer(self, request: Recorded) -> Answer:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return _json(status, {"ok": 200 <= status < 300})

    @staticmethod
    def verify(request: Recorded, secret: str, tolerance: int = 300) -> bool:
        """Check X-Protekt-Signature the way a receiver would (the snippet in providers.py)."""
        try:
            fields = dict(part.split("=", 1) for part in
                          request.headers["X-Protekt-Signature"].split(","))
            timestamp = int(fields["t"])
            given = fields["v1"]
        except (KeyError, ValueError):
            return False
        signed = str(timestamp).encode() + b"." + request.raw
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - timestamp) <= tolerance
        return fresh and hmac.compare_digest(expected, given)
