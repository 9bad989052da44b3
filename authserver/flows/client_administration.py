"""Registering, changing and deleting clients: the dashboard's Applications section,
``/api/v2/clients`` and ``protekt create-client``.

The registry checks every value before anything is written (authserver.clients); the change and
its audit event are committed together, and then every process drops its cached clients
(authserver.cache), so a change applies from the client's next request on every instance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from authserver.cache import SharedCache
from authserver.clients import ClientRegistry
from authserver.errors import InvalidRequest, NotFound
from authserver.mfa.decision import APP_POLICIES
from authserver.mfa.groups import checked_factors
from authserver.models import Client


class ClientAdministration:
    """Changes to the client registry, one commit each."""

    def __init__(self, session: Session, registry: ClientRegistry, cache: SharedCache) -> None:
        self._session = session
        self._registry = registry
        self._cache = cache

    def create(self, name: str, **options: Any) -> tuple[Client, str | None]:
        """A new client and its secret (shown once; None for a public client); the options are
        ClientRegistry.create's, and the MFA rule checked here."""
        created = self._registry.create(name, **_checked_mfa(options))
        self._committed()
        return created

    def update(self, client_id: str, **changes: Any) -> Client:
        client = self._registry.update(client_id, **_checked_mfa(changes))
        self._committed()
        return client

    def replace_secret(self, client_id: str) -> str:
        secret = self._registry.replace_secret(client_id)
        self._committed()
        return secret

    def delete(self, client_id: str) -> None:
        self._registry.delete(client_id)
        self._committed()

    def _committed(self) -> None:
        """Commit, then drop every process's cached clients. A row that vanished under the
        change (SQLite, where the read takes no lock: another request deleted the client
        between this one's read and its write) is NotFound, with nothing written."""
        try:
            self._session.commit()
        except (StaleDataError, ObjectDeletedError):
            self._session.rollback()
            raise NotFound("No client has this id.") from None
        self._cache.changed()


def _checked_mfa(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields, with the MFA rule checked (README, MFA policies): ``mfa_policy`` inherit,
    always, never or adaptive; ``mfa_factors`` the factors that may answer (empty: any)."""
    policy = fields.get("mfa_policy")
    if policy is not None and policy not in APP_POLICIES:
        raise InvalidRequest(f"mfa_policy must be one of {', '.join(APP_POLICIES)}.")
    if fields.get("mfa_factors") is not None:
        fields = {**fields, "mfa_factors": checked_factors(fields["mfa_factors"], "mfa_factors")}
    return fields
