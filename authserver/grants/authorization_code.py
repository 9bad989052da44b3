"""The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636) and OpenID Connect's code
flow (OIDC Core §3.1), on Authlib's grant and extensions.

At ``/authorize`` (authserver.hosted) Authlib validates the request: response_type, scope,
PKCE's code_challenge, OIDC's nonce and prompt; this class adds Protekt's rules (S256 only, and
required of public clients: RFC 9700 §2.1.1) and issues the code when the user has signed in.
At the token endpoint it redeems the code once (authserver.tokens.codes), checks redirect_uri
and the code_verifier, and issues tokens for the login the code stands for. A code used twice
revokes what it gave (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode

from authserver.clients import AUTHORIZATION_CODE
from authserver.errors import InvalidRequest
from authserver.grants.base import ProtektGrant, Response
from authserver.models import Client, User
from authserver.scopes import DEFAULT_SCOPE
from authserver.tokens.codes import CodeGrant

S256 = "S256"
AUDIENCE_ITEM = "audience:"  # a consent to tokens for this API (RFC 8707)
PROMPTS = frozenset({"none", "login", "consent", "select_account"})  # OIDC Core §3.1.2.1


def redirect_status(method: str) -> int:
    """303 after a POST, so the browser does not post the form on to the app (RFC 9700
    §4.12); 302 otherwise."""
    return 303 if method == "POST" else 302


class S256Challenge(CodeChallenge):
    """PKCE with ``S256`` only: ``plain`` is refused (RFC 9700 §2.1.1), and a public client must
    send a challenge at ``/authorize`` and its verifier at the token endpoint (RFC 7636 §4)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if "code_challenge" not in data and grant.request.client.is_public:
            raise InvalidRequest("A public client must use PKCE: send code_challenge and "
                                 "code_challenge_method=S256 (RFC 7636).")
        if "code_challenge" in data and data.get("code_challenge_method") != S256:
            raise InvalidRequest("code_challenge_method must be S256; plain is not accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationRequestChecks(OpenIDCode):
    """OIDC's checks of the authorization request (nonce, prompt); the ID token itself is
    Protekt's (authserver.tokens.issuer), so none is made here."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # the nonce is the app's to check in the ID token (OIDC Core §3.1.3.7)

    def process_token(self, grant: Any, response: Any) -> Any:
        return response[1]


class Asked(NamedTuple):
    """The scope and audience an authorization request asks for, once checked."""

    scope: tuple[str, ...]
    audience: tuple[str, ...]


class SignedIn:
    """The user the hosted pages signed in, with how and when: Authlib's ``grant_user``."""

    def __init__(self, user: User, amr: tuple[str, ...], auth_time: float,
                 sso_session: str | None) -> None:
        self.user = user
        self.amr = amr
        self.auth_time = auth_time
        self.sso_session = sso_session

    def get_user_id(self) -> str:
        return self.user.id


class AuthorizationCodeGrant(ProtektGrant, grants.AuthorizationCodeGrant):
    """``authorization_code``: a code and its ``code_verifier`` for the tokens of the login."""

    GRANT_TYPE = AUTHORIZATION_CODE
    TOKEN_ENDPOINT_AUTH_METHODS = ProtektGrant.TOKEN_ENDPOINT_AUTH_METHODS
    EXTENSIONS = [S256Challenge(required=True), AuthorizationRequestChecks()]

    # /authorize -----------------------------------------------------------------------------

    @cached_property
    def asked(self) -> Asked:
        """What the request asks, checked once per request: the scope (unknown scopes left out,
        RFC 6749 §3.3; management scopes refused; ``openid`` when none is asked) and the APIs,
        factor scopes never with one (RFC 8707 §2)."""
        client: Client = self.request.client
        scope = self.requested_scope(self.login_scopes(client), (DEFAULT_SCOPE,),
                                     ignore_unknown=True)
        audience = self.requested_audience(client)
        self.for_own_endpoints_only(scope, audience)
        return Asked(scope, audience)

    @property
    def consent_items(self) -> tuple[str, ...]:
        """What the user allows the app on the consent page: the scopes, and each API the
        tokens will be for (``audience:`` and its identifier)."""
        return (*self.asked.scope, *(AUDIENCE_ITEM + name for name in self.asked.audience))

    def create_authorization_response(self, redirect_uri: str,
                                      grant_user: SignedIn) -> Response:
        """To the app with the code, ``state`` and ``iss`` (RFC 9207 §2)."""
        params = self.request.payload.data
        code = self.services.codes.issue(
            client_id=self.request.client.client_id, redirect_uri=redirect_uri,
            scope=self.asked.scope, audience=self.asked.audience, user_id=grant_user.user.id,
            auth_time=grant_user.auth_time, amr=grant_user.amr, nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
            sso_session=grant_user.sso_session,
        )
        answer = [("code", code), ("state", params.get("state")),
                  ("iss", self.services.settings.issuer)]
        location = add_params_to_uri(redirect_uri, [(k, v) for k, v in answer if v])
        return redirect_status(self.request.method), "", [("Location", location)]

    # the token endpoint --------------------------------------------------------------------

    def validate_token_request(self) -> None:
        self.authenticated_client()
        super().validate_token_request()  # the code, redirect_uri, then PKCE (S256Challenge)

    def query_authorization_code(self, code: str, client: Client) -> CodeGrant:
        """The code's grant, used up (authserver.flows.code_exchange)."""
        return self.services.flows.code_exchange.redeem(code, client, self.request.client_ip)

    def create_token_response(self) -> Response:
        tokens = self.services.flows.code_exchange.run(
            self.request.authorization_code, self.request.client, self.request.client_ip)
        return self.respond(tokens.body)
