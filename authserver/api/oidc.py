"""Discovery (OIDC Discovery 1.0, RFC 8414), the JWKS (RFC 7517), UserInfo (OIDC Core §5.3) and
the public API's OpenAPI document."""

from __future__ import annotations

from functools import partial
from typing import Any, cast

from flask import Blueprint, Response, current_app, request

from authserver.accounts.users import PROFILE_CLAIMS
from authserver.api import public_openapi
from authserver.api.bearer import bearer_token, token_user
from authserver.api.documents import PublicDocument, PublicDocuments
from authserver.api.responses import OPENAPI_MAX_AGE, cacheable, no_store
from authserver.clients import AUTH0_ALIASES
from authserver.config import Settings
from authserver.errors import InsufficientScope
from authserver.extensions import services
from authserver.grants import GRANTS
from authserver.grants.authorization_code import PROMPTS
from authserver.scopes import OPENID, USER_SCOPES
from authserver.tokens.claims import ACR_VALUES
from authserver.tokens.keys import KeyRing

bp = Blueprint("oidc", __name__)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "email",
          "email_verified", *PROFILE_CLAIMS, "updated_at", "phone_number",
          "phone_number_verified", "groups"]
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/.well-known/jwks.json"
METADATA_MAX_AGE = 3600
JWKS_MAX_AGE = 300  # resource servers refetch on an unknown kid anyway


def provider_metadata(settings: Settings, keyring: KeyRing) -> dict[str, Any]:
    issuer = settings.issuer
    algorithms = {settings.signing_alg, *_published_algorithms(keyring)}
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "authorization_endpoint": f"{issuer}/authorize",
        "end_session_endpoint": f"{issuer}/logout",
        "grant_types_supported": grant_types_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": sorted(PROMPTS),
        "acr_values_supported": list(ACR_VALUES),
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
        "request_parameter_supported": False,  # OIDC Discovery §3: request objects, not done
        "request_uri_parameter_supported": False,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted(algorithms),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": list(USER_SCOPES),
        "claims_supported": CLAIMS,
        "mfa_challenge_endpoint": f"{issuer}/mfa/challenge",
        "mfa_associate_endpoint": f"{issuer}/mfa/associate",
        "mfa_authenticators_endpoint": f"{issuer}/mfa/authenticators",
        "mfa_recovery_codes_endpoint": f"{issuer}/mfa/recovery-codes",
        "passkey_challenge_endpoint": f"{issuer}/passkey/challenge",
    }


def grant_types_supported() -> list[str]:
    """Every grant type the token endpoint answers, Auth0's MFA aliases included."""
    names = [grant.GRANT_TYPE for grant in GRANTS]
    return names + [alias for alias, grant in AUTH0_ALIASES.items() if grant in names]


def _published_algorithms(keyring: KeyRing) -> tuple[str, ...]:
    return tuple(sorted({k.alg for k in keyring.published()}))


def _published_kids(keyring: KeyRing) -> tuple[str, ...]:
    return tuple(k.kid for k in keyring.published())


def public_documents(settings: Settings, keyring: KeyRing) -> dict[str, PublicDocument]:
    """Discovery (under both names) and the JWKS, by path (answered by PublicDocuments)."""
    metadata = PublicDocument(partial(provider_metadata, settings, keyring),
                              partial(_published_algorithms, keyring), METADATA_MAX_AGE)
    jwks = PublicDocument(keyring.jwks, partial(_published_kids, keyring), JWKS_MAX_AGE)
    return {DISCOVERY: metadata, "/.well-known/oauth-authorization-server": metadata,
            JWKS: jwks}


@bp.get(DISCOVERY)
@bp.get("/.well-known/oauth-authorization-server")
@bp.get(JWKS)
def document() -> Response:
    """The same answer as the PublicDocuments layer in front gives (which serves GET and HEAD
    without reaching Flask); the routes make other methods 405 and the paths known to Flask."""
    layer = cast(PublicDocuments, current_app.extensions["protekt.documents"])
    status, headers, body = layer.answer(request.environ)
    return Response(body, status=status, headers=headers)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    claims = services.access_tokens.verify(bearer_token(request), services.settings.issuer)
    if OPENID not in claims["scope"].split():
        raise InsufficientScope("The access token needs the openid scope.")
    user = token_user(claims)
    scope = tuple(claims["scope"].split())
    return no_store({"sub": user.id, **services.claims.of(user, claims["client_id"], scope)})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of the public API (authserver.api.public_openapi)."""
    return cacheable(public_openapi.document(services.settings.issuer), OPENAPI_MAX_AGE)
