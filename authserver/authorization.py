"""Authlib's AuthorizationServer, fitted to Protekt.

* Parameters come from the request body only, as ``application/x-www-form-urlencoded`` or
  ``application/json``; a repeated parameter is refused (RFC 6749 §3.1, §3.2), and so is using
  two client-authentication methods at once (RFC 6749 §2.3).
* Client-authentication failures are always ``401 invalid_client`` with a challenge; a request
  with an HTTP Basic header is authenticated by it alone (no fall-back to ``none``).
* No token while the store is unreachable (README, API: ``503``, never a token), whatever the
  grant: looking up the client reads the cache generation from it (authserver.cache).
* Errors are rendered by the one renderer, :func:`authserver.errors.render`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Flask, Request, Response
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from authserver.errors import InvalidClient, InvalidRequest, UnsupportedGrantType, render
from authserver.text import unfit_name, unfit_text

if TYPE_CHECKING:
    from authserver.services import Services


def _checked_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members, each named once and without control characters in a name or a
    string (authserver.text); InvalidRequest otherwise. Nested objects pass here on their own."""
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise InvalidRequest(f"Parameter '{name}' is repeated; send it once.")
        if unfit_name(name) or any(unfit_text(text) for text in _strings(value)):
            raise InvalidRequest(f"{name} must not contain control characters (tabs and "
                                 "line breaks excepted).")
        members[name] = value
    return members


def _strings(value: Any) -> list[str]:
    """The strings of a member's value: itself, or those of a list (at any depth)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _number(text: str) -> int | float:
    """A JSON number with a fraction or exponent: an int when it is a whole number (42880.0),
    as JSON Schema counts it an integer (2020-12 Validation §6.1.1), else a float."""
    value = float(text)
    return int(value) if value.is_integer() else value


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON body that must be an object without repeated members; InvalidRequest otherwise."""
    try:
        data = json.loads(raw, object_pairs_hook=_checked_members, parse_float=_number)
    except (ValueError, RecursionError):  # malformed, not UTF-8, or nested past all reason
        data = None
    if not isinstance(data, dict):
        raise InvalidRequest("The JSON body must be an object of parameters.")
    return data


def _json_parameters(raw: bytes) -> dict[str, str]:
    data = json_object(raw)
    for name, value in data.items():
        if not isinstance(value, str):
            raise InvalidRequest(f"Parameter '{name}' must be a string.")
    return data


def body_parameters(request: Request) -> dict[str, str]:
    """The body's parameters as strings; InvalidRequest if malformed or repeated."""
    if request.is_json:
        return _json_parameters(request.get_data(cache=True))
    if request.mimetype not in ("application/x-www-form-urlencoded", ""):
        raise InvalidRequest(
            "Send parameters as application/x-www-form-urlencoded or application/json."
        )
    return single_values(request.form)


def single_values(values: MultiDict[str, str]) -> dict[str, str]:
    """Form or query parameters, each sent once (RFC 6749 §3.1, §3.2); InvalidRequest if not.
    Control characters never get this far (authserver.api.inputs)."""
    for name in values:
        if len(values.getlist(name)) > 1:
            raise InvalidRequest(f"Parameter '{name}' is repeated; send it once.")
    return values.to_dict()


def given(params: dict[str, str]) -> dict[str, str]:
    """The parameters sent with a value: one sent empty counts as omitted (RFC 6749 §3.1)."""
    return {name: value for name, value in params.items() if value != ""}


def _basic_client_id(request: Request) -> str | None:
    """The client id of HTTP Basic credentials (RFC 6749 §2.3.1); InvalidClient when they
    cannot be read (not base64, not UTF-8) or hold a control character (authserver.text)."""
    try:
        client_id, secret = extract_basic_authorization(request.headers)
    except (UnicodeDecodeError, ValueError):
        raise InvalidClient() from None
    if any(unfit_name(part) for part in (client_id or "", secret or "")):
        raise InvalidClient()
    return client_id  # type: ignore[no-any-return]


class ProtektRequest(OAuth2Request):
    """An OAuth request whose parameters are the body's (or ``params``, for an authorization
    request), with the client's IP address. A parameter sent without a value is treated as
    omitted (RFC 6749 §3.1, §3.2)."""

    def __init__(self, request: Request, params: dict[str, str] | None = None) -> None:
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self._params = given(body_parameters(request) if params is None else params)
        self.payload = BasicOAuth2Payload(self._params)
        self.client_ip: str = request.remote_addr or ""
        # An authorization request authenticates no client (RFC 6749 §4.1.1).
        self.basic_client_id = _basic_client_id(request) if params is None else None
        if self.basic_client_id is not None and (
            "client_secret" in self._params
            or self._params.get("client_id", self.basic_client_id) != self.basic_client_id
        ):
            raise InvalidRequest(
                "Use one client authentication method: HTTP Basic, or client_id and "
                "client_secret in the body, not both."
            )

    @property
    def form(self) -> dict[str, str]:
        return self._params

    @property
    def args(self) -> dict[str, str]:
        return {}


class AuthorizationServer(FlaskAuthorizationServer):
    """The token and revocation endpoints' machinery, with Protekt's services attached."""

    services: Services
    grants: tuple[type[Any], ...]

    def init_services(
        self, app: Flask, services: Services, grants: tuple[type[Any], ...],
        endpoints: tuple[type[Any], ...],
    ) -> None:
        """Bind to the app with these grant classes and endpoints (registered in create_app,
        which sits above both this server and the grants)."""
        self.services = services
        self.grants = grants
        self.init_app(app, query_client=services.clients.find)
        for grant in grants:
            self.register_grant(grant, getattr(grant, "EXTENSIONS", None))
        for endpoint in endpoints:
            self.register_endpoint(endpoint)

    def get_token_grant(self, request: ProtektRequest) -> Any:
        grant_type = request.payload.grant_type
        if not grant_type:
            raise InvalidRequest("Missing 'grant_type' parameter.")
        try:
            return super().get_token_grant(request)
        except UnsupportedGrantTypeError:
            supported = ", ".join(grant.GRANT_TYPE for grant in self.grants)
            raise UnsupportedGrantType(
                f"grant_type {grant_type} is not supported; supported: {supported}."
            ) from None

    def create_oauth2_request(self, request: Any) -> ProtektRequest:
        """The token and revocation endpoints' request, or an authorization request that the
        browser sign-in built from its parameters."""
        return request if isinstance(request, ProtektRequest) else ProtektRequest(flask_request)

    def authenticate_client(
        self, request: ProtektRequest, methods: list[str], endpoint: str = "token",
    ) -> Any:
        if request.basic_client_id is not None:
            methods = [m for m in methods if m == "client_secret_basic"]
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            raise InvalidClient() from None

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Response:
        return self.handle_response(*render(error))
