"""mfa_tokens: the ticket a password login leaves when a second factor is needed (API.md §2).

An mfa_token is 256 random bits, handed to the client once. The store keeps only its SHA-256
(DESIGN.md habit 4) with what the login asked for: user, client, scope, audience, and whether
the user must enroll or answer a challenge. The record outlives the token's lifetime by
``EXPIRED_MEMORY`` seconds, so an expired token answers ``expired_token`` and an unknown one
``invalid_grant``. A successful exchange consumes the record with one GETDEL: of parallel
exchanges, one wins.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from authserver.errors import ExpiredToken, InvalidGrant, TooManyAttempts
from authserver.store import Namespace

CHALLENGE = "challenge"
ENROLL = "enroll"
EXPIRED_MEMORY = 3600  # seconds an expired token is still recognised as expired
LEASE_SECONDS = 10  # longest a verification may hold a ticket
_MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class MfaTicket:
    """What an mfa_token stands for. ``key`` is the token's digest, never the token."""

    key: str
    user_id: str
    client_id: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    purpose: str
    expires_at: float

    @property
    def seconds_left(self) -> float:
        return self.expires_at - time.time()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MfaTickets:
    """Issues, opens, leases and consumes mfa_tokens in the store."""

    def __init__(self, records: Namespace) -> None:
        self._records = records

    def issue(
        self, *, user_id: str, client_id: str, scope: tuple[str, ...],
        audience: tuple[str, ...], purpose: str, ttl: int,
    ) -> str:
        """A new mfa_token for ttl seconds."""
        token = secrets.token_urlsafe(32)
        ticket = MfaTicket(_digest(token), user_id, client_id, scope, audience, purpose,
                           time.time() + ttl)
        self._records.put(ticket.key, json.dumps(asdict(ticket)).encode(), ttl + EXPIRED_MEMORY)
        return token

    def open(self, token: str, client_id: str | None = None) -> MfaTicket:
        """The ticket of a live token (of this client, when given); InvalidGrant or ExpiredToken.

        A token of another client is as good as unknown (RFC 6749 §5.2: "issued to another
        client" is invalid_grant).
        """
        raw = self._records.get(_digest(token)) if 0 < len(token) <= _MAX_TOKEN_LENGTH else None
        if raw is None:
            raise InvalidGrant("The mfa_token is unknown or has already been used.")
        data = json.loads(raw)
        ticket = MfaTicket(**{**data, "scope": tuple(data["scope"]),
                              "audience": tuple(data["audience"])})
        if client_id is not None and ticket.client_id != client_id:
            raise InvalidGrant("The mfa_token was issued to another client.")
        if ticket.seconds_left <= 0:
            raise ExpiredToken()
        return ticket

    @contextmanager
    def exclusive(self, ticket: MfaTicket) -> Iterator[None]:
        """Hold the ticket while one request verifies a code with it; others get 429 meanwhile.

        Codes for one mfa_token are thus checked one at a time: a double-click cannot make two
        token responses, nor count the second click as a wrong code.
        """
        lease = f"lease:{ticket.key}"
        if not self._records.put_if_absent(lease, b"1", LEASE_SECONDS):
            raise TooManyAttempts(
                "Another request is verifying a code with this mfa_token. Retry in a moment.",
                retry_after=1,
            )
        try:
            yield
        finally:
            self._records.delete(lease)

    def consume(self, ticket: MfaTicket) -> bool:
        """Use the ticket up; False if it was already gone."""
        return self._records.consume(ticket.key) is not None
