"""mfa_tokens: the ticket a password login leaves when a second factor is needed (README, API).

An mfa_token is 256 random bits, handed to the client once. The store keeps only its SHA-256
with what the login asked for: user, client, scope, audience, and whether
the user must enroll or answer a challenge. The record outlives the token's lifetime by
``EXPIRED_MEMORY`` seconds, so an expired token answers ``expired_token`` and an unknown one
``invalid_grant``. A successful exchange consumes the record with one GETDEL: of parallel
exchanges, one wins. After too many wrong codes the record is marked void: it is refused
everywhere (``429``) until it expires.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from authserver.accounts.users import UserDirectory, ensure_not_blocked
from authserver.digest import digest
from authserver.errors import ExpiredToken, InvalidGrant, TooManyAttempts
from authserver.models import User
from authserver.store import Namespace

# What the ticket lets the user do next (the key of mfa_requirements, README, API).
FOR_CHALLENGE = "challenge"
FOR_ENROLLMENT = "enroll"
EXPIRED_MEMORY = 3600  # seconds an expired token is still recognised as expired
LEASE_SECONDS = 10  # longest a verification may hold a ticket
_MAX_TOKEN_LENGTH = 100
UNKNOWN = "The mfa_token is unknown or has already been used."


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
    void: bool = False
    first_amr: tuple[str, ...] = ("pwd",)  # RFC 8176: how the first step authenticated
    factors: tuple[str, ...] = ()  # the factors the login offered (empty: not recorded)
    device_id: str | None = None  # the app's device id, remembered when the login completes

    @property
    def seconds_left(self) -> float:
        return self.expires_at - time.time()


class MfaTickets:
    """Issues, opens, leases and consumes mfa_tokens in the store."""

    def __init__(self, records: Namespace) -> None:
        self._records = records

    def issue(
        self, *, user_id: str, client_id: str, scope: tuple[str, ...],
        audience: tuple[str, ...], purpose: str, ttl: int, first_amr: tuple[str, ...] = ("pwd",),
        factors: tuple[str, ...] = (), device_id: str | None = None,
    ) -> str:
        """A new mfa_token for ttl seconds; ``factors``: those that may answer it."""
        token = secrets.token_urlsafe(32)
        ticket = MfaTicket(digest(token), user_id, client_id, scope, audience, purpose,
                           time.time() + ttl, first_amr=first_amr, factors=factors,
                           device_id=device_id)
        self._records.put(ticket.key, json.dumps(asdict(ticket)).encode(), ttl + EXPIRED_MEMORY)
        return token

    def open(self, token: str, client_id: str | None = None) -> MfaTicket:
        """The ticket of a live token (of this client, when given).

        InvalidGrant when unknown, used, or another client's: a token of another client is as
        good as unknown (RFC 6749 §5.2), and answers the same. ExpiredToken when expired,
        TooManyAttempts when void.
        """
        ticket = self._load(digest(token)) if 0 < len(token) <= _MAX_TOKEN_LENGTH else None
        if ticket is None or (client_id is not None and ticket.client_id != client_id):
            raise InvalidGrant(UNKNOWN)
        return _usable(ticket)

    @contextmanager
    def exclusive(self, ticket: MfaTicket) -> Iterator[Held]:
        """Hold the ticket while one request verifies a code with it; others get 429 meanwhile.

        Yields the ticket read again under the lease (taking the lease and reading are one round
        trip), so a request that waited behind a successful one finds the token used before it
        checks (and spends) any code. The lease holds a random value and is released only by its
        holder: by :meth:`consume_held`, or on leaving.
        """
        lease, holder = _lease_key(ticket.key), secrets.token_bytes(16)
        taken, raw = self._records.lease(lease, holder, LEASE_SECONDS, ticket.key)
        if not taken:
            raise TooManyAttempts(
                "Another request is verifying a code with this mfa_token. Retry in a moment.",
                retry_after=1,
            )
        held = None
        try:
            if raw is None:
                raise InvalidGrant(UNKNOWN)
            held = Held(_usable(_parsed(raw)), holder)
            yield held
        finally:
            if held is None or not held.released:
                self._records.release(lease, holder)

    def consume_held(self, held: Held) -> bool:
        """Use the held ticket up and give its lease back, in one round trip; False if the
        ticket was already gone."""
        held.released = True
        key = held.ticket.key
        return self._records.consume_leased(key, _lease_key(key), held.holder) is not None

    def void(self, ticket: MfaTicket) -> None:
        """Refuse the ticket from now on (too many wrong codes), until it would have expired."""
        record = json.dumps({**asdict(ticket), "void": True}).encode()
        self._records.put(ticket.key, record, max(1.0, ticket.seconds_left) + EXPIRED_MEMORY)

    def _load(self, key: str) -> MfaTicket | None:
        raw = self._records.get(key)
        return None if raw is None else _parsed(raw)


@dataclass
class Held:
    """A ticket read again under its lease, the lease's holder value, and whether the lease
    was already given back."""

    ticket: MfaTicket
    holder: bytes
    released: bool = False


def _lease_key(key: str) -> str:
    return f"lease:{key}"


def _parsed(raw: bytes) -> MfaTicket:
    data = json.loads(raw)
    return MfaTicket(**{**data, "scope": tuple(data["scope"]),
                        "audience": tuple(data["audience"]),
                        "first_amr": tuple(data.get("first_amr", ("pwd",))),
                        "factors": tuple(data.get("factors", ()))})


class MfaLogins:
    """Logins waiting for their second factor: an mfa_token opened together with its user."""

    def __init__(self, tickets: MfaTickets, users: UserDirectory) -> None:
        self._tickets = tickets
        self._users = users

    def open(self, token: str, client_id: str | None = None) -> tuple[MfaTicket, User]:
        """The live ticket (as :meth:`MfaTickets.open`) and its user; InvalidGrant when the user
        is gone or was blocked after the password (README, API): the mfa_token is then worth
        nothing, before any code is checked or sent."""
        ticket = self._tickets.open(token, client_id)
        user = self._users.get(ticket.user_id)
        if user is None:
            raise InvalidGrant("The user of this mfa_token no longer exists.")
        ensure_not_blocked(user)
        return ticket, user


def _usable(ticket: MfaTicket) -> MfaTicket:
    """The ticket, or ExpiredToken, or TooManyAttempts once it is void."""
    if ticket.seconds_left <= 0:
        raise ExpiredToken()
    if ticket.void:  # no wait helps: Retry-After is the rest of its life, after which it expired
        raise TooManyAttempts(
            "Too many wrong codes for this mfa_token; it is void. Log in again.",
            retry_after=math.ceil(ticket.seconds_left), login_again=True,
        )
    return ticket
