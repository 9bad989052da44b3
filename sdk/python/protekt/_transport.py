"""HTTP to one Protekt server: discovery, client authentication, and error answers."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import requests

from protekt.errors import NETWORK_ERROR, ProtektError

JSON = dict[str, Any]


class Transport:
    """A pooled HTTP session bound to a server and a client.

    Endpoints come from the server's metadata (OIDC Discovery 1.0 §4), fetched once. A client
    with a secret authenticates with HTTP Basic, its id and secret form-encoded first (RFC 6749
    §2.3.1); a public client sends only ``client_id`` (RFC 6749 §3.2.1).
    """

    def __init__(self, domain: str, client_id: str, client_secret: str | None,
                 timeout: float, session: requests.Session | None) -> None:
        if not domain.startswith(("https://", "http://")):
            raise ValueError("domain must be the server's URL, e.g. https://auth.example.com")
        self.domain = domain.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._session = session or requests.Session()
        self._metadata: JSON | None = None
        self._lock = threading.Lock()

    def endpoint(self, name: str) -> str:
        """The URL of metadata member ``name`` (``token_endpoint``, ``mfa_challenge_endpoint``)."""
        with self._lock:
            if self._metadata is None:
                self._metadata = self.call(
                    "GET", f"{self.domain}/.well-known/openid-configuration")
        url = self._metadata.get(name)
        if not isinstance(url, str):
            raise ProtektError("server_error", f"The server's metadata has no {name}.")
        return url

    def post_as_client(self, endpoint: str, form: JSON) -> requests.Response:
        """POST a form with client authentication; the raw answer (errors not raised)."""
        fields = {name: value for name, value in form.items() if value is not None}
        auth = None
        if self._client_secret is None:
            fields["client_id"] = self.client_id
        else:
            auth = (quote(self.client_id, safe=""), quote(self._client_secret, safe=""))
        return self._send("POST", self.endpoint(endpoint), data=fields, auth=auth)

    def call(self, method: str, url: str, *, bearer: str | None = None,
             body: JSON | None = None) -> Any:
        """Send, and return the JSON answer (None for 204); ProtektError for an error status."""
        headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        return answer(self._send(method, url, json=body, headers=headers))

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise ProtektError(
                NETWORK_ERROR, f"Protekt at {self.domain} did not answer: {type(exc).__name__}."
            ) from exc


def answer(response: requests.Response) -> Any:
    """The JSON body of a success; ProtektError built from an error body (RFC 6749 §5.2)."""
    if response.ok:
        return response.json() if response.content else None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        raise ProtektError("server_error", f"Protekt answered HTTP {response.status_code}.",
                           response.status_code, _retry_after(response))
    raise ProtektError(body["error"], str(body.get("error_description", "")),
                       response.status_code, _retry_after(response))


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None
