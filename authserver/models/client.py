"""OAuth clients (RFC 6749 §2): the applications that call the token endpoint."""

from __future__ import annotations

import hmac
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import JSON, Boolean, String, true
from sqlalchemy.orm import Mapped, mapped_column

from authserver.digest import digest
from authserver.models.base import Base, UTCDateTime, utcnow


def hash_client_secret(secret: str) -> str:
    """SHA-256 of a generated 256-bit secret: enough for high-entropy values (no slow hash)."""
    return digest(secret)


class Client(Base):
    """A registered client. Implements the methods Authlib's ClientMixin asks for."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # None for a public client (RFC 6749 §2.1), which authenticates with method "none".
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Browser sign-in (RFC 6749 §3.1.2, OIDC RP-Initiated Logout §3.1): exact URIs only.
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]")
    # First-party apps are the deployment's own: the hosted pages ask no consent for them.
    first_party: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # MFA for this application (README, MFA policies): inherit, always, never or adaptive, and
    # the factors that may answer (empty: any the deployment has on).
    mfa_policy: Mapped[str] = mapped_column(String(16), default="inherit",
                                            server_default="inherit")
    mfa_factors: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison of digests (RFC 6749 §10.1 asks secrets be protected)."""
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, hash_client_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Public clients use "none"; confidential ones a secret, by Basic or in the body."""
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def check_response_type(self, response_type: str) -> bool:
        """``code`` only (RFC 9700 §2.1.2: no implicit flow), for clients allowed that grant."""
        return response_type == "code" and self.check_grant_type("authorization_code")

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """An exact match with a registered URI (RFC 9700 §4.1.3), except the port of an http
        loopback address, which a native app picks when it starts (RFC 8252 §7.3)."""
        return any(_same_redirect(registered, redirect_uri) for registered in self.redirect_uris)

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        """An exact match with a registered URI (OIDC RP-Initiated Logout 1.0 §3)."""
        return uri in self.post_logout_redirect_uris

    def get_default_redirect_uri(self) -> None:
        """None: the redirect_uri is always required (OIDC Core §3.1.2.1)."""
        return None

    def get_allowed_scope(self, scope: str) -> str:
        """Scopes are checked by the grant itself (authserver.grants.authorization_code)."""
        return scope


_LOOPBACK_HOSTS = ("127.0.0.1", "::1")  # RFC 8252 §8.3: IP literals, not "localhost"


def _same_redirect(registered: str, asked: str) -> bool:
    if registered == asked:
        return True
    if any(c in asked for c in "#\t\r\n\\"):  # RFC 6749 §3.1.2: no fragment; no tricks
        return False
    mine, theirs = urlsplit(registered), urlsplit(asked)
    loopback = (mine.scheme == theirs.scheme == "http" and mine.hostname in _LOOPBACK_HOSTS
                and theirs.username is None and _port(theirs.netloc) is not None)
    return loopback and ((mine.hostname, mine.path, mine.query)
                         == (theirs.hostname, theirs.path, theirs.query))


def _port(netloc: str) -> int | None:
    """The port of a loopback address (80 when none is given); None when it is not one."""
    try:
        port = urlsplit(f"//{netloc}").port
    except ValueError:
        return None
    return 80 if port is None else port if 0 < port < 65536 else None
