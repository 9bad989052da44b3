"""A software WebAuthn authenticator for the server-side tests: it builds what a browser hands
back from ``navigator.credentials.create()`` and ``.get()`` (W3C WebAuthn Level 3 §5.1.4.1 JSON
forms), signing with ``cryptography``, with "none" attestation (§8.7). Each knob a test turns
(origin, RP ID, flags, counter, algorithm) is one that a real attacker or a broken device turns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40  # authenticator data flags (§6.1)
CURVES = {-7: (ec.SECP256R1(), hashes.SHA256(), 1), -35: (ec.SECP384R1(), hashes.SHA384(), 2)}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftKey:
    """One credential on one authenticator, for one RP ID and origin."""

    rp_id: str
    origin: str
    alg: int = -7  # ES256; -35 (ES384) is one the server does not accept
    user_verified: bool = True
    synced: bool = False  # backup eligible and backed up, like a passkey in a cloud keychain
    sign_count: int = 0
    count_step: int = 0  # added before each assertion; 0 keeps the counter at 0, as passkeys do
    user_handle: bytes = b""
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    aaguid: bytes = bytes(16)

    def __post_init__(self) -> None:
        curve, self._hash, self._crv = CURVES[self.alg]
        self._key = ec.generate_private_key(curve)

    def register(self, options: dict[str, Any], **client: Any) -> dict[str, Any]:
        """The RegistrationResponseJSON for PublicKeyCredentialCreationOptionsJSON."""
        self.user_handle = unb64url(options["user"]["id"])
        attested = (self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self.cose_key())
        auth_data = self._auth_data(AT, client.pop("rp_id", self.rp_id)) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], **client)
        return self._credential({"clientDataJSON": b64url(client_data),
                                 "attestationObject": b64url(attestation),
                                 "transports": ["internal"]})

    def cose_key(self) -> bytes:
        """The credential's public key as a COSE_Key (RFC 9052 §7; EC2, RFC 9053 §7.1.1)."""
        numbers = self._key.public_key().public_numbers()
        size = (self._key.curve.key_size + 7) // 8
        return cbor2.dumps({1: 2, 3: self.alg, -1: self._crv,
                            -2: numbers.x.to_bytes(size, "big"),
                            -3: numbers.y.to_bytes(size, "big")})

    def assert_(self, options: dict[str, Any], **client: Any) -> dict[str, Any]:
        """The AuthenticationResponseJSON for PublicKeyCredentialRequestOptionsJSON."""
        self.sign_count += self.count_step
        auth_data = self._auth_data(0, client.pop("rp_id", self.rp_id))
        client_data = self._client_data("webauthn.get", options["challenge"], **client)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self._key.sign(signed, ec.ECDSA(self._hash))
        return self._credential({"clientDataJSON": b64url(client_data),
                                 "authenticatorData": b64url(auth_data),
                                 "signature": b64url(signature),
                                 "userHandle": b64url(self.user_handle)})

    def _auth_data(self, extra_flags: int, rp_id: str) -> bytes:
        flags = UP | extra_flags | (UV if self.user_verified else 0) | (
            BE | BS if self.synced else 0)
        return (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                + struct.pack(">I", self.sign_count))

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _credential(self, response: dict[str, str]) -> dict[str, Any]:
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key", "response": response, "clientExtensionResults": {},
                "authenticatorAttachment": "platform"}
