"""AES-256-GCM at rest: round trip, purpose binding, tampering, key rotation."""

from __future__ import annotations

import os

import pytest

from authserver.encryption import DecryptionError, Encryptor

OLD, NEW = os.urandom(32), os.urandom(32)


def test_round_trip() -> None:
    box = Encryptor((NEW,))
    sealed = box.encrypt(b"private key", "signing-key:a")
    assert b"private key" not in sealed
    assert box.decrypt(sealed, "signing-key:a") == b"private key"


def test_same_plaintext_seals_differently_each_time() -> None:
    box = Encryptor((NEW,))
    assert box.encrypt(b"x", "p") != box.encrypt(b"x", "p")


def test_a_ciphertext_does_not_open_for_another_purpose() -> None:
    box = Encryptor((NEW,))
    sealed = box.encrypt(b"secret", "signing-key:a")
    with pytest.raises(DecryptionError):
        box.decrypt(sealed, "signing-key:b")


def test_a_tampered_ciphertext_is_refused() -> None:
    box = Encryptor((NEW,))
    sealed = bytearray(box.encrypt(b"secret", "p"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        box.decrypt(bytes(sealed), "p")


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old_box = Encryptor((OLD,))
    sealed_with_old = old_box.encrypt(b"secret", "p")
    rotated = Encryptor((NEW, OLD))
    assert rotated.decrypt(sealed_with_old, "p") == b"secret"
    sealed_with_new = rotated.encrypt(b"secret", "p")
    with pytest.raises(DecryptionError, match="PROTEKT_ENCRYPTION_KEY"):
        old_box.decrypt(sealed_with_new, "p")
