"""Discovery (OIDC Discovery 1.0, RFC 8414), the JWKS (RFC 7517) and UserInfo (OIDC Core §5.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Response, current_app, request

from authserver.accounts.users import PROFILE_CLAIMS
from authserver.api.bearer import bearer_token, token_user
from authserver.api.responses import PublicDocument, no_store
from authserver.clients import AUTH0_ALIASES
from authserver.errors import InsufficientScope
from authserver.extensions import services
from authserver.grants import GRANTS
from authserver.grants.authorization_code import PROMPTS
from authserver.scopes import OPENID, USER_SCOPES
from authserver.tokens.claims import ACR_VALUES

bp = Blueprint("oidc", __name__)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "email",
          "email_verified", *PROFILE_CLAIMS, "updated_at", "phone_number",
          "phone_number_verified"]
METADATA_MAX_AGE = 3600
JWKS_MAX_AGE = 300  # resource servers refetch on an unknown kid anyway


def provider_metadata() -> dict[str, Any]:
    issuer = services.settings.issuer
    algorithms = {services.settings.signing_alg} | {k.alg for k in services.keyring.published()}
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
    }


def grant_types_supported() -> list[str]:
    """Every grant type the token endpoint answers, Auth0's MFA aliases included."""
    names = [grant.GRANT_TYPE for grant in GRANTS]
    return names + [alias for alias, grant in AUTH0_ALIASES.items() if grant in names]


def _published_algorithms() -> tuple[str, ...]:
    return tuple(sorted({k.alg for k in services.keyring.published()}))


def _published_kids() -> tuple[str, ...]:
    return tuple(k.kid for k in services.keyring.published())


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    """The provider's metadata, built again only when the signing algorithms change."""
    document = _document("protekt.discovery", provider_metadata, METADATA_MAX_AGE)
    return document.response(_published_algorithms(), request)


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The JWK Set, built again only when the published keys change."""
    document = _document("protekt.jwks", services.keyring.jwks, JWKS_MAX_AGE)
    return document.response(_published_kids(), request)


def _document(name: str, build: Callable[[], Any], max_age: int) -> PublicDocument:
    """The app's prepared document of this name (made on first use)."""
    extensions = current_app.extensions
    if name not in extensions:
        extensions[name] = PublicDocument(build, max_age)
    return cast(PublicDocument, extensions[name])


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    claims = services.access_tokens.verify(bearer_token(request), services.settings.issuer)
    if OPENID not in claims["scope"].split():
        raise InsufficientScope("The access token needs the openid scope.")
    user = token_user(claims)
    scope = tuple(claims["scope"].split())
    return no_store({"sub": user.id, **services.claims.of(user, claims["client_id"], scope)})
