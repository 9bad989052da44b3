"""A browser sign-in in progress: the app's authorization request and how far the user got.

``/authorize`` keeps the request it validated while the hosted pages ask for the password, the
second factor and consent (the "interaction" of node-oidc-provider and Keycloak's
authentication session). The browser holds a random 256-bit id in its signed sign-in cookie;
the store keeps the SHA-256 of it with the request's parameters, the user once the password
was right, the factors proven (RFC 8176 ``amr``) and when, and whether consent was given. A
record lives ``TTL`` seconds: a sign-in left longer starts again at the app. No Flask here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, replace

from authserver.digest import digest
from authserver.store import Namespace

TTL = 15 * 60
_MAX_ID_LENGTH = 100


@dataclass(frozen=True)
class Interaction:
    """One sign-in: ``params`` of the authorization request; ``user_id``, ``amr`` and
    ``auth_time`` once authenticated (``fresh`` when the password was typed in this very
    interaction; ``session`` once the sign-in session holds them); ``consented`` once the user
    allowed the scopes."""

    id: str
    params: dict[str, str]
    user_id: str | None = None
    amr: tuple[str, ...] = ()
    auth_time: float | None = None
    fresh: bool = False
    session: bool = False
    consented: bool = False

    def but(self, **changes: object) -> Interaction:
        return replace(self, **changes)  # type: ignore[arg-type]


def _key(interaction_id: str) -> str:
    return digest(interaction_id)


class Interactions:
    """Sign-ins in progress, in the store."""

    def __init__(self, records: Namespace) -> None:
        self._records = records

    def start(self, params: dict[str, str]) -> Interaction:
        interaction = Interaction(secrets.token_urlsafe(32), dict(params))
        self.save(interaction)
        return interaction

    def find(self, interaction_id: str) -> Interaction | None:
        if not 0 < len(interaction_id) <= _MAX_ID_LENGTH:
            return None
        raw = self._records.get(_key(interaction_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return Interaction(**{**data, "id": interaction_id, "amr": tuple(data["amr"])})

    def save(self, interaction: Interaction) -> None:
        """Keep the interaction under the digest of its id (never the id itself)."""
        data = {k: v for k, v in asdict(interaction).items() if k != "id"}
        self._records.put(_key(interaction.id), json.dumps(data).encode(), TTL)

    def end(self, interaction: Interaction) -> None:
        self._records.delete(_key(interaction.id))
