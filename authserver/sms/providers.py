"""SMS delivery providers behind one interface: :class:`SmsProvider`, picked by ``open_provider``.

``send`` returns once the provider has taken the message and raises :class:`DeliveryFailed`
otherwise; the exception text is detail for the log, never for a client.

- ``console``: logs the text at WARNING on ``protekt.sms`` (the demo default).
- ``file``: appends one JSON line per message to an outbox file (tests, staging, demos).
- ``twilio``: the Programmable Messaging REST API, ``POST /2010-04-01/Accounts/{AccountSid}/
  Messages.json`` with HTTP Basic auth, through the official ``twilio`` package.
- ``webhook``: a signed JSON POST to an operator's own gateway.

Webhook requests carry ``{"id", "to", "body", "timestamp"}`` and the header
``X-Protekt-Signature: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``
(the scheme Stripe uses for its webhooks). A connection that could not be made, or a 5xx answer,
is retried once with the same body and signature, so a receiver should dedupe on ``id``; any 2xx
is success, anything else a failure. A request sent but unanswered in time (a read timeout, a
dropped connection) is not retried: the gateway may have sent it (:class:`DeliveryUncertain`).
A receiver checks the signature over the raw bytes, in constant time, and refuses stale
timestamps to stop replays::

    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = fields["t"].encode() + b"." + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= 300
    accept = fresh and hmac.compare_digest(expected, fields["v1"])
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import requests
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

if TYPE_CHECKING:
    from authserver.config import Settings

log = logging.getLogger("protekt.sms")

TWILIO_API_URL = "https://api.twilio.com"
TWILIO_FAILED = ("failed", "undelivered")  # Message resource status values that mean no delivery
SIGNATURE_HEADER = "X-Protekt-Signature"
WEBHOOK_ATTEMPTS = 2  # the first try and one retry


@dataclass(frozen=True)
class SmsMessage:
    """One text to send: E.164 recipient, the rendered body, and the one-time code inside it."""

    to: str
    body: str
    code: str


class DeliveryFailed(Exception):
    """The provider did not take the message. str(exc) is detail for the log only."""


class DeliveryUncertain(DeliveryFailed):
    """The request reached the provider but no answer came back in time: it may have sent (and
    billed) the message. Neither retried nor refunded, so a slow provider cannot be made to send
    for free."""


class SmsProvider(Protocol):
    """Anything that can hand an SMS to a carrier, or pretend to."""

    name: str

    def send(self, message: SmsMessage) -> None:
        """Return once the provider accepted the message; raise DeliveryFailed otherwise."""


class ConsoleProvider:
    """Logs each SMS: the operator reads the code from the terminal."""

    name = "console"

    def send(self, message: SmsMessage) -> None:
        log.warning("SMS to %s: %s", message.to, message.body)


class FileProvider:
    """Appends each SMS as one JSON line ``{"to", "body", "code", "time"}`` to an outbox file.

    Several worker processes may share the file: each line is one ``write`` on an ``O_APPEND``
    descriptor (POSIX write(2): the offset moves to the end before every write) under an exclusive
    ``flock``. The file is created owner-only, since it holds live codes.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not str(path):
            raise ValueError("FileProvider needs a path")
        self.path = os.fspath(path)

    def send(self, message: SmsMessage) -> None:
        record = {"to": message.to, "body": message.body, "code": message.code,
                  "time": datetime.now(UTC).isoformat(timespec="milliseconds")}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to SMS outbox {self.path}: {exc}") from exc


class TwilioProvider:
    """Twilio Programmable Messaging: creates a Message resource per SMS.

    ``sender`` is an E.164 number (sent as ``From``) or a Messaging Service SID ``MG...`` (sent
    as ``MessagingServiceSid``, letting Twilio pick the number). Twilio answers 201 with the
    Message in status ``queued`` or ``accepted``; an error answer carries Twilio's error code
    (https://www.twilio.com/docs/api/errors), which goes into the DeliveryFailed detail.
    """

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sender: str,
                 api_url: str = TWILIO_API_URL, timeout: float = 5.0) -> None:
        if not (account_sid and auth_token and sender):
            raise ValueError("TwilioProvider needs an account SID, an auth token and a sender")
        self._client = Client(account_sid, auth_token,
                              http_client=TwilioHttpClient(timeout=timeout))
        self._client.api.base_url = api_url.rstrip("/")
        key = "messaging_service_sid" if sender.startswith("MG") else "from_"
        self._sender = {key: sender}

    def send(self, message: SmsMessage) -> None:
        try:
            created = self._client.messages.create(to=message.to, body=message.body,
                                                   **self._sender)
        except requests.RequestException as exc:
            if _may_have_arrived(exc):
                raise DeliveryUncertain(f"twilio did not answer: {type(exc).__name__}") from exc
            raise DeliveryFailed(_twilio_detail(exc)) from exc
        except TwilioException as exc:
            raise DeliveryFailed(_twilio_detail(exc)) from exc
        if created.status in TWILIO_FAILED:
            raise DeliveryFailed(f"twilio message {created.sid} is {created.status}: "
                                 f"error {created.error_code} {created.error_message}")


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when the connection was never made (the request cannot have arrived)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    refused = isinstance(exc, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.NewConnectionError)
    return not refused


def _twilio_detail(exc: Exception) -> str:
    """Log text for a failed create; built from fields, since the library's str() adds colour
    codes when stderr is a terminal."""
    if isinstance(exc, TwilioRestException):
        return f"twilio error {exc.code} (HTTP {exc.status}): {exc.msg}"
    if isinstance(exc, TwilioServiceException):
        return f"twilio error {exc.code} (HTTP {exc.status}): {exc.title} {exc.detail or ''}"
    return f"twilio unreachable: {type(exc).__name__}: {exc}"


class WebhookProvider:
    """POSTs each SMS as signed JSON to the operator's gateway (format in the module docstring)."""

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        if not (url and secret):
            raise ValueError("WebhookProvider needs a URL and a secret")
        self.url = url
        self._secret = secret.encode()
        self._timeout = timeout
        self._session = requests.Session()

    def send(self, message: SmsMessage) -> None:
        body, headers = self._signed_request(message)
        problems = []
        for _ in range(WEBHOOK_ATTEMPTS):
            problem = self._post(body, headers)
            if problem is None:
                return
            problems.append(problem)
        raise DeliveryFailed(f"webhook {self.url} failed {WEBHOOK_ATTEMPTS} times: "
                             + "; ".join(problems))

    def _signed_request(self, message: SmsMessage) -> tuple[bytes, dict[str, str]]:
        timestamp = int(time.time())
        payload = {"id": secrets.token_urlsafe(16), "to": message.to, "body": message.body,
                   "timestamp": timestamp}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        signed = str(timestamp).encode() + b"." + body
        digest = hmac.new(self._secret, signed, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json",
                      SIGNATURE_HEADER: f"t={timestamp},v1={digest}"}

    def _post(self, body: bytes, headers: dict[str, str]) -> str | None:
        """None when accepted; the reason when worth one retry; raise when retrying is futile."""
        try:
            response = self._session.post(self.url, data=body, headers=headers,
                                          timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            if _may_have_arrived(exc):
                raise DeliveryUncertain(
                    f"webhook {self.url} did not answer: {type(exc).__name__}") from exc
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        if response.status_code >= 500:
            return f"HTTP {response.status_code}"
        raise DeliveryFailed(f"webhook {self.url} refused the message: HTTP "
                             f"{response.status_code} {response.text[:200]!r}")


def open_provider(settings: Settings) -> SmsProvider:
    """Build the provider named by PROTEKT_SMS_PROVIDER; Settings already checked that the
    variables it needs are set."""
    match settings.sms_provider:
        case "console":
            return ConsoleProvider()
        case "file":
            return FileProvider(settings.sms_outbox or "")
        case "twilio":
            return TwilioProvider(settings.twilio_account_sid or "",
                                  settings.twilio_auth_token or "", settings.twilio_from or "",
                                  settings.twilio_api_url, settings.sms_timeout)
        case "webhook":
            return WebhookProvider(settings.sms_webhook_url or "",
                                   settings.sms_webhook_secret or "", settings.sms_timeout)
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r}")
