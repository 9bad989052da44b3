"""The client registry: OAuth clients (RFC 6749 §2) and the grant types they may use."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import InvalidRequest, NotFound
from authserver.models import Client, hash_client_secret
from authserver.scopes import parse_scope

PASSWORD = "password"  # noqa: S105 (a grant type name)
REFRESH_TOKEN = "refresh_token"  # noqa: S105
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"  # RFC 6749 §4.1: browser sign-in at /authorize

# API.md §2: Protekt's MFA grant URIs; Auth0's are accepted as aliases, short names in the CLI.
MFA_OTP = "http://protekt.dev/oauth/grant-type/mfa-otp"
MFA_OOB = "http://protekt.dev/oauth/grant-type/mfa-oob"
MFA_RECOVERY_CODE = "http://protekt.dev/oauth/grant-type/mfa-recovery-code"
MFA_GRANT_TYPES: tuple[str, ...] = (MFA_OTP, MFA_OOB, MFA_RECOVERY_CODE)
AUTH0_ALIASES = {
    grant.replace("http://protekt.dev/", "http://auth0.com/"): grant for grant in MFA_GRANT_TYPES
}
SHORT_NAMES = {grant.rsplit("/", 1)[1]: grant for grant in MFA_GRANT_TYPES}

# The dashboard's own logins, mfa_tokens and audit events are this client's; registered client
# ids are random (token_urlsafe), so none can take it.
DASHBOARD_CLIENT_ID = "protekt-dashboard"

GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, PASSWORD, REFRESH_TOKEN, CLIENT_CREDENTIALS,
                                 *MFA_GRANT_TYPES)
DEFAULT_GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, PASSWORD, REFRESH_TOKEN,
                                        *MFA_GRANT_TYPES)


def canonical_grant_type(name: str) -> str:
    """The Protekt URI for a short name (``mfa-otp``) or an Auth0 alias; other names unchanged."""
    return SHORT_NAMES.get(name) or AUTH0_ALIASES.get(name) or name


class ClientRegistry:
    """Clients in the database. Secrets are shown once, at creation, and stored as SHA-256."""

    def __init__(self, session: Session, audit: AuditLog) -> None:
        self._session = session
        self._audit = audit

    def find(self, client_id: str) -> Client | None:
        return self._session.get(Client, client_id) if client_id else None

    def create(
        self,
        name: str,
        *,
        public: bool = False,
        grant_types: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        audiences: Iterable[str] = (),
    ) -> tuple[Client, str | None]:
        """Register a client; returns it and its secret (None for a public client)."""
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidRequest("The client name must be 1 to 100 characters long.")
        grants = _checked_grant_types(grant_types, public)
        secret = None if public else secrets.token_urlsafe(32)  # 256 bits
        client = Client(
            client_id=secrets.token_urlsafe(16),
            name=name,
            secret_hash=None if secret is None else hash_client_secret(secret),
            grant_types=grants,
            scopes=_checked_scopes(scopes),
            audiences=_checked_audiences(audiences),
        )
        self._session.add(client)
        self._audit.record("client.created", client_id=client.client_id, public=public)
        self._session.commit()
        return client, secret


    def listing(self) -> list[Client]:
        """Every client, oldest first."""
        return list(self._session.scalars(select(Client).order_by(Client.created_at)).all())

    def names(self, client_ids: Iterable[str]) -> dict[str, str]:
        """The names of these clients (those that still exist), by client id."""
        rows = self._session.execute(
            select(Client.client_id, Client.name).where(Client.client_id.in_(set(client_ids))))
        return {client_id: name for client_id, name in rows}

    def get(self, client_id: str) -> Client:
        client = self.find(client_id)
        if client is None:
            raise NotFound("No client has this id.")
        return client

    def set_grant_types(self, client_id: str, grant_types: Iterable[str]) -> Client:
        """Replace the client's allow-list of grants (RFC 6749 §5.2 unauthorized_client)."""
        client = self.get(client_id)
        if not grant_types:
            raise InvalidRequest("grant_types must name at least one grant type.")
        client.grant_types = _checked_grant_types(grant_types, client.is_public)
        self._audit.record("client.updated", client_id=client_id, grant_types=client.grant_types)
        self._session.commit()
        return client

    def rotate_secret(self, client_id: str) -> str:
        """A new secret, shown once; the old one stops working at once."""
        client = self.get(client_id)
        if client.is_public:
            raise InvalidRequest("A public client has no secret to rotate.")
        secret = secrets.token_urlsafe(32)
        client.secret_hash = hash_client_secret(secret)
        self._audit.record("client.secret_rotated", client_id=client_id)
        self._session.commit()
        return secret

    def delete(self, client_id: str) -> None:
        """Delete the client; its refresh tokens go with it (ON DELETE CASCADE)."""
        self._session.delete(self.get(client_id))
        self._audit.record("client.deleted", client_id=client_id)
        self._session.commit()


def _checked_grant_types(grant_types: Iterable[str] | None, public: bool) -> list[str]:
    named = grant_types or DEFAULT_GRANT_TYPES
    grants = list(dict.fromkeys(canonical_grant_type(g) for g in named))
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown grant type {unknown[0]}; known: {', '.join(GRANT_TYPES)} "
            f"(or {', '.join(SHORT_NAMES)})."
        )
    if public and CLIENT_CREDENTIALS in grants:
        raise InvalidRequest(
            "A public client cannot use client_credentials: it has no secret (RFC 6749 §4.4)."
        )
    return grants


def _checked_scopes(scopes: Iterable[str]) -> list[str]:
    """Each one scope-token (RFC 6749 §3.3), kept in order without repeats."""
    checked = []
    for scope in scopes:
        try:
            (token,) = parse_scope(scope)
        except ValueError:
            raise InvalidRequest(
                "Scopes must be tokens of printable ASCII without spaces."
            ) from None
        checked.append(token)
    return list(dict.fromkeys(checked))


def _checked_audiences(audiences: Iterable[str]) -> list[str]:
    result = list(dict.fromkeys(a.strip() for a in audiences if a.strip()))
    if any(len(a) > 255 or " " in a for a in result):
        raise InvalidRequest("An audience is an identifier of at most 255 characters, no spaces.")
    return result
