"""Consents: which scopes a user allowed a client on the hosted consent page (OIDC Core
§3.1.2.4). A first-party client needs none, except for the ``phone`` scope, whose claims come
from the user's MFA phone and are released only with the user's agreement. A consent is
remembered per user and client until an administrator revokes it; revoking it also revokes the
refresh tokens the client holds for the user, so what was allowed stops at once for new tokens
(access tokens already issued live out their minutes). No Flask here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from authserver.audit import AuditLog
from authserver.errors import NotFound
from authserver.models import Consent
from authserver.models.base import utcnow


class RefreshFamilies(Protocol):
    """The refresh tokens a user's clients hold (authserver.tokens.refresh)."""

    def revoke_client(self, user_id: str, client_id: str) -> int:
        """Revoke the user's families at this client; how many."""


class Consents:
    """Consents in the database. Callers commit."""

    def __init__(self, session: Session, audit: AuditLog, refresh_tokens: RefreshFamilies) -> None:
        self._session = session
        self._audit = audit
        self._refresh_tokens = refresh_tokens

    def granted(self, user_id: str, client_id: str) -> frozenset[str]:
        """The scopes the user allowed this client (none when never asked)."""
        consent = self._session.get(Consent, (user_id, client_id))
        return frozenset(consent.scopes) if consent else frozenset()

    def grant(self, user_id: str, client_id: str, scopes: Iterable[str]) -> None:
        """Add these scopes to what the user allowed the client; audited ``consent.granted``."""
        consent = self._session.get(Consent, (user_id, client_id))
        if consent is None:
            consent = Consent(user_id=user_id, client_id=client_id, scopes=[])
            self._session.add(consent)
        added = [s for s in scopes if s not in consent.scopes]
        consent.scopes = [*consent.scopes, *added]
        consent.granted_at = utcnow()
        self._audit.record("consent.granted", user_id=user_id, client_id=client_id,
                           scopes=added)

    def of_user(self, user_id: str) -> list[Consent]:
        """The user's consents, oldest first."""
        return list(self._session.scalars(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.granted_at)))

    def revoke(self, user_id: str, client_id: str) -> None:
        """Forget the consent and revoke the client's refresh tokens for the user: the client
        asks again at the next sign-in. NotFound if none."""
        consent = self._session.get(Consent, (user_id, client_id))
        if consent is None:
            raise NotFound("The user has given this client no consent.")
        self._session.delete(consent)
        revoked = self._refresh_tokens.revoke_client(user_id, client_id)
        self._audit.record("consent.revoked", user_id=user_id, client_id=client_id,
                           sessions_revoked=revoked)
