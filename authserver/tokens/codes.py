"""Authorization codes (RFC 6749 §4.1.2): what the browser sign-in hands the app to exchange.

A code is 256 random bits, given to the browser once; the store keeps only its SHA-256 with what
it is bound to: the client, the redirect_uri, the PKCE challenge (RFC 7636 §4.4), the nonce, the
scope and audience (RFC 8707), and the login it stands for (user, ``auth_time``, ``amr``,
browser session). It lives ``PROTEKT_AUTHORIZATION_CODE_TTL`` seconds (60) and is consumed
with one GETDEL: of parallel exchanges, one wins.

A code used twice is refused, and the tokens it produced are revoked (RFC 6749 §4.1.2, RFC 9700
§4.2.4). The exchange that consumed the code marks it *redeemed* at once, and once its tokens are
made, *used* with the access token's ``jti`` and the refresh family's id. A later exchange of a
redeemed code revokes what the used mark names. Both write the used mark with SET NX, so
whichever comes first, the other learns of it: when the replay came first, the first exchange
revokes what it has just issued and answers ``invalid_grant`` too. The marks live as long as an
access token; a replay in the instant between the GETDEL and the redeemed mark is refused as an
unknown code, without revocation. Unknown codes write nothing. A code presented by another
client than its own is refused and left as it was: no client can burn another's code, nor have
what it gave revoked (RFC 6749 §4.1.3 binds the code to its client).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from authserver.digest import digest
from authserver.store import Namespace

REPLAYED = b"replayed"
_MAX_CODE_LENGTH = 100


@dataclass(frozen=True)
class CodeGrant:
    """What a code stands for. Authlib's AuthorizationCodeMixin methods are the ones its
    grant and PKCE extension call."""

    key: str  # the code's digest
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    user_id: str
    auth_time: float
    amr: tuple[str, ...]
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    sso_session: str | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.scope)


@dataclass(frozen=True)
class Replay:
    """A code presented again: what its first exchange issued (None when not yet known)."""

    jti: str | None
    family_id: str | None


class AuthorizationCodes:
    """Issues, redeems and remembers authorization codes in the store."""

    def __init__(self, records: Namespace, ttl: int, used_ttl: int) -> None:
        self._records = records
        self._ttl = ttl
        self._used_ttl = used_ttl

    def issue(self, **bound: object) -> str:
        """A new code bound to ``bound`` (the fields of :class:`CodeGrant` but ``key``)."""
        code = secrets.token_urlsafe(32)
        grant = CodeGrant(key=digest(code), **bound)  # type: ignore[arg-type]
        self._records.put(grant.key, json.dumps(asdict(grant)).encode(), self._ttl)
        return code

    def redeem(self, code: str, client_id: str) -> CodeGrant | Replay | None:
        """The code's grant, consumed; a Replay for a code this client used before; None when
        unknown or another client's (RFC 6749 §4.1.3: then the code is left alone, so no client
        can burn another's code or revoke what it gave)."""
        if not 0 < len(code) <= _MAX_CODE_LENGTH:
            return None
        key = digest(code)
        issued_to = self._records.get(key)
        if issued_to is None:
            return self._replay(key, client_id)
        if json.loads(issued_to)["client_id"] != client_id:
            return None
        raw = self._records.consume(key)
        if raw is None:  # a parallel exchange consumed it in between
            return self._replay(key, client_id)
        self._records.put(f"redeemed:{key}", client_id.encode(), self._used_ttl)
        data = json.loads(raw)
        return CodeGrant(**{**data, "scope": tuple(data["scope"]),
                            "audience": tuple(data["audience"]), "amr": tuple(data["amr"])})

    def _replay(self, key: str, client_id: str) -> Replay | None:
        """A code this client redeemed before, with what its exchange issued once known; None
        for a code never issued, or redeemed by another client."""
        if self._records.get(f"redeemed:{key}") != client_id.encode():
            return None
        if self._records.put_if_absent(f"used:{key}", REPLAYED, self._used_ttl):
            return Replay(None, None)
        mark = self._records.get(f"used:{key}")
        if mark is None or mark == REPLAYED:
            return Replay(None, None)
        issued = json.loads(mark)
        return Replay(issued["jti"], issued["family_id"])

    def mark_used(self, grant: CodeGrant, jti: str, family_id: str | None) -> bool:
        """Name what the code's exchange issued; False if a replay came first (the caller
        then revokes what it issued)."""
        mark = json.dumps({"jti": jti, "family_id": family_id}).encode()
        return self._records.put_if_absent(f"used:{grant.key}", mark, self._used_ttl)
