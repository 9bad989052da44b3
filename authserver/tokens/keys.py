"""Signing keys and the JWKS (RFC 7517), loaded once per process.

Private keys are generated here, sealed with AES-256-GCM (authserver.encryption) and stored in
the database; each process parses a key once and keeps it. Every ``keys_refresh_interval``
seconds the process asks the database (one small query) whether another process rotated keys,
and parses only keys it has not seen.

Rotation retires the active key: it stops signing at once but stays in the JWKS until every token
it signed has expired (longest token lifetime + the refresh interval + clock-skew margin), so
resource servers keep verifying them (RFC 7517 §5; OIDC Core §10.1.1).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwk, jwt
from joserfc.errors import SecurityWarning
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from authserver.encryption import DecryptionError, Encryptor
from authserver.models import SigningKey
from authserver.models.base import DATABASE_UNAVAILABLE, utcnow

# README, API offers "EdDSA"; RFC 9864 prefers fully specified names, which clients don't know yet.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

CLOCK_SKEW = timedelta(seconds=60)
UNKNOWN_KID_RECHECK = 1.0  # seconds: how often a kid we do not know may trigger a reload
OUTAGE_RETRY = 5.0  # seconds: while the database is down, how often the JWKS tries a reload

log = logging.getLogger("authserver.keys")


def _generate(alg: str) -> jwk.Key:
    """A fresh private key for alg (RFC 7518 §3.3: RSA keys of at least 2048 bits)."""
    if alg == "RS256":
        return jwk.RSAKey.generate_key(2048, auto_kid=True)
    if alg == "ES256":
        return jwk.ECKey.generate_key("P-256", auto_kid=True)
    if alg == "EdDSA":
        return jwk.OKPKey.generate_key("Ed25519", auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


@dataclass(frozen=True)
class LoadedKey:
    """A key parsed once: what signing and the JWKS need."""

    kid: str
    alg: str
    private: jwk.Key
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None


class KeyRing:
    """The process's signing keys; thread-safe; refreshed from the database on an interval.

    It works in sessions of its own (``new_session``), never in a request's, so loading or
    creating a key neither commits nor sees a request's unfinished work.
    """

    def __init__(
        self,
        new_session: Callable[[], Session],
        encryptor: Encryptor,
        alg: str,
        retention: timedelta,
        refresh_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_session = new_session
        self._clock = clock  # seconds, monotonic: when reloads are due
        self._encryptor = encryptor
        self._alg = alg
        self._retention = retention + CLOCK_SKEW + timedelta(seconds=refresh_interval)
        self._refresh_interval = refresh_interval
        self._keys: dict[str, LoadedKey] = {}
        self._checked_at = float("-inf")
        self._unknown_kid_checked_at = float("-inf")
        self._outage_seen_at = float("-inf")  # the last reload that found the database down
        self._lock = threading.Lock()

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        """Sign claims as a compact JWS with the active key; ``kid`` and ``typ`` in the header."""
        key = self.active_key()
        header = {"alg": key.alg, "kid": key.kid, "typ": typ}
        return jwt.encode(header, claims, key.private, algorithms=[key.alg])

    def active_key(self) -> LoadedKey:
        """The newest unretired key of the configured algorithm, made on first use if none."""
        self._refresh_if_due()
        active = self._newest_active()
        if active is None:
            with self._lock:
                active = self._newest_active() or self._create_and_retire_others()
        return active

    def published(self) -> list[LoadedKey]:
        """Keys a resource server may meet: active ones, and retired ones still in retention.
        While the database is down, the keys this process holds (the JWKS stays up; signing
        does not, see _refresh_if_due)."""
        self._refresh_if_due(held_on_outage=True)
        horizon = utcnow() - self._retention
        return [k for k in self._keys.values() if k.retired_at is None or k.retired_at > horizon]

    def verification_keys(self, kid: str) -> list[LoadedKey]:
        """The published keys, reloaded first (at most once a second) when kid is not among
        them: another process may have rotated and signed with a key this one has not seen."""
        now = self._clock()
        if kid not in self._keys and now - self._unknown_kid_checked_at >= UNKNOWN_KID_RECHECK:
            self._unknown_kid_checked_at = now
            with self._lock:
                self._load_all()
        return self.published()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set document: public members only (RFC 7517 §5)."""
        return {"keys": [{**k.public_jwk, "use": "sig", "alg": k.alg}
                         for k in self.published()]}

    def roll_over(self) -> LoadedKey:
        """Retire every active key and make a new one active (``protekt keys rotate``)."""
        with self._lock:
            self._load_all()
            return self._create_and_retire_others()

    def all_keys(self) -> list[LoadedKey]:
        """Every key in the database, newest first (``protekt keys list``)."""
        with self._lock:
            self._load_all()
        return sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)

    def retention_ends(self, key: LoadedKey) -> datetime | None:
        return None if key.retired_at is None else key.retired_at + self._retention

    def _newest_active(self) -> LoadedKey | None:
        active = [k for k in self._keys.values() if k.retired_at is None and k.alg == self._alg]
        return max(active, key=lambda k: k.created_at, default=None)

    def _refresh_if_due(self, *, held_on_outage: bool = False) -> None:
        """Reload on the interval. While one thread reloads, the others go on with the keys
        already loaded (they wait only when there are none yet), so a request that holds a
        database connection never queues behind another's reload for the pool.

        A reload that finds the database down raises (the request fails closed, 503), unless
        ``held_on_outage`` and keys are loaded: publishing them then goes on, trying a reload
        every OUTAGE_RETRY seconds rather than on every request. Signing keeps trying (and
        failing closed) whenever a reload is due."""
        now = self._clock()
        if now - self._checked_at < self._refresh_interval or (
                held_on_outage and self._keys and now - self._outage_seen_at < OUTAGE_RETRY):
            return
        if not self._lock.acquire(blocking=not self._keys):
            return
        try:
            if self._clock() - self._checked_at >= self._refresh_interval:
                self._load_all()
        except DATABASE_UNAVAILABLE:
            if not (held_on_outage and self._keys):
                raise
            log.warning("signing keys not reloaded: the database is unavailable; publishing "
                        "the %d keys held", len(self._keys))
            self._outage_seen_at = self._clock()
        finally:
            self._lock.release()

    def _load_all(self) -> None:
        with self._new_session() as session:
            known = dict(session.execute(select(SigningKey.kid, SigningKey.retired_at)).all())
            keys = {kid: key for kid, key in self._keys.items() if kid in known}
            unseen = [kid for kid in known if kid not in keys]
            if unseen:
                for row in session.scalars(select(SigningKey).where(SigningKey.kid.in_(unseen))):
                    keys[row.kid] = self._parse(row)
        for kid, retired_at in known.items():
            if keys[kid].retired_at != retired_at:
                keys[kid] = _with_retired(keys[kid], retired_at)
        self._keys = keys
        self._checked_at = self._clock()

    def _parse(self, row: SigningKey) -> LoadedKey:
        try:
            pem = self._encryptor.decrypt(row.private_key, purpose=f"signing-key:{row.kid}")
        except DecryptionError as exc:
            raise DecryptionError(
                f"signing key {row.kid} cannot be decrypted: {exc}. PROTEKT_ENCRYPTION_KEY must "
                "list the key it was sealed with (the first key encrypts, all keys decrypt)."
            ) from None
        private = jwk.import_key(pem, row.public_jwk["kty"], parameters={"kid": row.kid})
        return LoadedKey(row.kid, row.alg, private, row.public_jwk, row.created_at, row.retired_at)

    def _create_and_retire_others(self) -> LoadedKey:
        now = utcnow()
        private = _generate(self._alg)
        kid = str(private.kid)  # the RFC 7638 thumbprint
        public = private.as_dict(private=False)
        sealed = self._encryptor.encrypt(private.as_pem(private=True), f"signing-key:{kid}")
        with self._new_session() as session:
            session.execute(
                update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
            )
            session.add(SigningKey(kid=kid, alg=self._alg, public_jwk=public,
                                   private_key=sealed, created_at=now))
            session.commit()
        created = LoadedKey(kid, self._alg, private, public, now, None)
        retired = {k.kid: _with_retired(k, k.retired_at or now) for k in self._keys.values()}
        self._keys = {**retired, kid: created}  # readers never see a half-built dict
        self._checked_at = self._clock()
        return created


def _with_retired(key: LoadedKey, retired_at: datetime | None) -> LoadedKey:
    return LoadedKey(key.kid, key.alg, key.private, key.public_jwk, key.created_at, retired_at)
