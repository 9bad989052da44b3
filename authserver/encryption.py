"""Encryption at rest for secrets Protekt must read back (private signing keys, later TOTP seeds).

AES-256-GCM (NIST SP 800-38D) under the keys of ``PROTEKT_ENCRYPTION_KEY``: the first key
encrypts, every key decrypts, so keys rotate without downtime (NIST SP 800-57 Part 1 §5.3). Each
ciphertext names its key by a 4-byte fingerprint and is bound to a purpose string (GCM associated
data), so a ciphertext copied into another row or column does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12  # NIST SP 800-38D §8.2.2: random 96-bit IVs


class DecryptionError(ValueError):
    """A ciphertext could not be decrypted by any configured key."""


def _fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(b"protekt-encryption-key" + key).digest()[:4]


class Encryptor:
    """Seal and open small secrets with the configured keys."""

    def __init__(self, keys: tuple[bytes, ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._keys = {_fingerprint(k): AESGCM(k) for k in keys}
        self._current = _fingerprint(keys[0])
        self._first = keys[0]

    def derive_key(self, purpose: str) -> bytes:
        """A 256-bit key for one other use (an HMAC key), derived from the current key with
        HMAC-SHA256 as a PRF (NIST SP 800-108r1 §4.1); it changes when the key rotates."""
        return hmac.new(self._first, b"protekt-derived-key:" + purpose.encode(),
                        hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, purpose: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + self._current + nonce + sealed

    def decrypt(self, ciphertext: bytes, purpose: str) -> bytes:
        version, key_id = ciphertext[:1], ciphertext[1:5]
        nonce, sealed = ciphertext[5 : 5 + _NONCE_BYTES], ciphertext[5 + _NONCE_BYTES :]
        aead = self._keys.get(key_id)
        if version != _VERSION or aead is None:
            raise DecryptionError("encrypted with a key that is not in PROTEKT_ENCRYPTION_KEY")
        try:
            return aead.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag:
            raise DecryptionError("ciphertext was altered or belongs elsewhere") from None
