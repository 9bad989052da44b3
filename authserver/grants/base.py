"""What every Protekt grant shares: client checks, parameters, scope and audience rules."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from authlib.consts import default_json_headers

from authserver import errors
from authserver.errors import AccessDenied, InvalidRequest, InvalidScope, UnauthorizedClient
from authserver.models import Client
from authserver.scopes import (
    DEFAULT_SCOPE,
    FACTOR_SCOPES,
    MANAGEMENT_SCOPES,
    USER_SCOPES,
    parse_scope,
)
from authserver.tokens.issuer import TokenRequest, Tokens

if TYPE_CHECKING:
    from authserver.authorization import AuthorizationServer, ProtektRequest
    from authserver.flows.password_login import MfaRequired
    from authserver.services import Services

Response = tuple[int, dict[str, Any], list[tuple[str, str]]]


class ProtektGrant:
    """Mixed in before an Authlib grant class; grants call these helpers, nothing more."""

    GRANT_TYPE: str
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    request: ProtektRequest
    server: AuthorizationServer
    if TYPE_CHECKING:

        def authenticate_token_endpoint_client(self) -> Client: ...  # from Authlib's BaseGrant

    @property
    def services(self) -> Services:
        return self.server.services

    def authenticated_client(self) -> Client:
        """The authenticated client, if its allow-list holds this grant (RFC 6749 §5.2)."""
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClient(f"This client may not use grant_type {self.GRANT_TYPE}.")
        self.request.client = client
        return client

    def param(self, name: str) -> str:
        value = self.request.form.get(name)
        if not value:
            raise InvalidRequest(f"Missing '{name}' parameter.")
        return value

    def requested_scope(
        self, allowed: Collection[str], default: tuple[str, ...], *, ignore_unknown: bool = False,
    ) -> tuple[str, ...]:
        """The scope asked for (or default), every token of it allowed (RFC 6749 §3.3).

        With ``ignore_unknown`` (a user's login), tokens outside ``allowed`` are left out of the
        token rather than refused (RFC 6749 §3.3 lets the server grant less), except
        management scopes, which are never a user's.
        """
        raw = self.request.form.get("scope")
        if raw is None:
            return default
        try:
            scope = parse_scope(raw)
        except ValueError:
            raise InvalidScope(
                "The scope is malformed: tokens separated by single spaces."
            ) from None
        refused = [token for token in scope if token not in allowed and not (
            ignore_unknown and token not in MANAGEMENT_SCOPES)]
        if refused:
            raise InvalidScope(f"Scope '{refused[0]}' is not allowed here.")
        return tuple(token for token in scope if token in allowed)

    @staticmethod
    def login_scopes(client: Client) -> tuple[str, ...]:
        """What a user's login may ask for: the user scopes and the client's own APIs' scopes;
        management scopes never, they belong to machine clients."""
        own_api = [name for name in client.scopes if name not in MANAGEMENT_SCOPES]
        return (*USER_SCOPES, *own_api)

    def requested_audience(self, client: Client) -> tuple[str, ...]:
        """The API asked for, if this client may have tokens for it; () means this server."""
        audience = self.request.form.get("audience")
        if audience is None or audience == self.services.settings.issuer:
            return ()
        if audience not in client.audiences:
            raise AccessDenied(f"The client is not allowed to access audience '{audience}'.")
        return (audience,)

    def login_request(self, client: Client) -> TokenRequest:
        """What a user's login asks for: the scope (``openid`` by default; unknown scopes left
        out) and the API, checked before any credential is (RFC 6749 §3.3)."""
        scope = self.requested_scope(self.login_scopes(client), (DEFAULT_SCOPE,),
                                     ignore_unknown=True)
        audience = self.requested_audience(client)
        self.for_own_endpoints_only(scope, audience)
        return TokenRequest(client, scope, audience)

    def login_response(self, outcome: Tokens | MfaRequired) -> Response:
        """The tokens, or ``403 mfa_required`` with the mfa_token (README, API)."""
        if isinstance(outcome, Tokens):
            return self.respond(outcome.body)
        return errors.render(errors.MfaRequired(**outcome.members()))

    @staticmethod
    def for_own_endpoints_only(scope: tuple[str, ...], audience: tuple[str, ...]) -> None:
        """Refuse factor-management scopes in a token for another API (RFC 8707 §2)."""
        mixed = [name for name in scope if name in FACTOR_SCOPES] if audience else []
        if mixed:
            raise InvalidScope(
                f"Scope '{mixed[0]}' is for Protekt's own /mfa endpoints; ask for it in a login "
                "without an audience, not in a token for another API."
            )

    @staticmethod
    def respond(body: dict[str, Any]) -> Response:
        """200 with Cache-Control: no-store (RFC 6749 §5.1)."""
        return 200, body, list(default_json_headers)
