"""HTTP to one Protekt server: discovery, client authentication, and error answers."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote

import requests

from protekt._urls import checked_url
from protekt.errors import NETWORK_ERROR, ProtektError

JSON = dict[str, Any]
SERVER_ERROR = "server_error"


class Transport:
    """A pooled HTTP session bound to a server and a client.

    Endpoints come from the server's metadata (OIDC Discovery 1.0 §4), fetched once; its
    ``issuer`` must be the domain (§4.3) and every endpoint under it, so credentials never go
    elsewhere, and redirects are never followed. A client with a secret authenticates with HTTP
    Basic, its id and secret form-encoded first (RFC 6749 §2.3.1); a public client sends only
    ``client_id`` (RFC 6749 §3.2.1).
    """

    def __init__(self, domain: str, client_id: str, client_secret: str | None,
                 timeout: float, session: requests.Session | None) -> None:
        self.domain = checked_url(domain, "domain")
        self.client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._session = session or requests.Session()
        self._metadata: JSON | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The HTTP session (its proxies and CA bundle serve the issuer's keys too)."""
        return self._session

    def endpoint(self, name: str, fallback: str | None = None) -> str:
        """The URL of metadata member ``name`` (``token_endpoint``, ``mfa_challenge_endpoint``);
        when the metadata has none and ``fallback`` is given, that path under the domain."""
        url = self._discovered().get(name)
        if url is None and fallback is not None:
            url = self.domain + fallback
        if not isinstance(url, str) or not url.startswith(f"{self.domain}/"):
            raise ProtektError(SERVER_ERROR, f"The server's metadata names no {name} under "
                                             f"{self.domain}; is the domain right?")
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

    def _discovered(self) -> JSON:
        with self._lock:
            if self._metadata is None:
                metadata = self.call("GET", f"{self.domain}/.well-known/openid-configuration")
                if not isinstance(metadata, dict) or metadata.get("issuer") != self.domain:
                    raise ProtektError(SERVER_ERROR, f"The server at {self.domain} names another "
                                                     "issuer in its metadata; is the domain right?")
                self._metadata = metadata
        return self._metadata

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self._timeout,
                                         allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise ProtektError(
                NETWORK_ERROR, f"Protekt at {self.domain} did not answer: {type(exc).__name__}."
            ) from exc


def answer(response: requests.Response) -> Any:
    """The JSON body of a success; ProtektError built from an error body (RFC 6749 §5.2).

    Anything else -- a redirect, an HTML page, JSON that is not an error object -- is a
    ``server_error`` naming the HTTP status, so callers see one exception type.
    """
    if response.status_code == 204:
        return None
    body = json_body(response)
    if 200 <= response.status_code < 300 and body is not None:
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        raise ProtektError(body["error"], str(body.get("error_description", "")),
                           response.status_code, _retry_after(response),
                           login_again=body.get("login_again") is True)
    raise ProtektError(SERVER_ERROR, f"Protekt answered HTTP {response.status_code} with no "
                                     "usable JSON; is the domain right?",
                       response.status_code, _retry_after(response))


def json_body(response: requests.Response) -> Any:
    """The parsed JSON body, or None when there is none or it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: requests.Response) -> int | None:
    """``Retry-After`` in seconds (RFC 9110 §10.2.3; the HTTP-date form is not used by Protekt)."""
    value = response.headers.get("Retry-After", "")
    return int(value) if re.fullmatch(r"[0-9]{1,9}", value) else None
