"""The one digest of secrets kept at rest for lookup: SHA-256, hex.

Secrets that Protekt generates (refresh tokens, mfa_tokens, authorization codes, client secrets,
session ids and SMS oob_codes of 256 random bits; recovery codes of 80, prefixed with their
user's id) are beyond guessing, so a plain SHA-256 makes them useless to whoever reads the store
and lets the record be found by its key (NIST SP
800-63B §5.1.1.2 asks salted, costly hashing only of secrets a person chooses: passwords, which
use argon2id in authserver.accounts.passwords).
"""

from __future__ import annotations

import hashlib


def digest(secret: str) -> str:
    """The hex SHA-256 of ``secret`` (UTF-8)."""
    return hashlib.sha256(secret.encode()).hexdigest()
