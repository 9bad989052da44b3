"""One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), and the enrollment URI and QR code.

Protekt's authenticators use what every authenticator app supports: SHA-1, 6 digits, 30-second
steps (RFC 6238 §4; Google's Key Uri Format). Verification accepts one step of drift each way on
the server's clock (RFC 6238 §5.2), compares in constant time against every candidate (no early
exit), and returns the step that matched so the caller can refuse it and every earlier one next
time (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP").
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import struct
from urllib.parse import quote, urlencode

import segno

DIGITS = 6
PERIOD = 30
DRIFT = 1  # steps either side of now
SECRET_BYTES = 20  # 160 bits, as RFC 4226 §4 (R6) recommends
_CODE = re.compile(r"[0-9]{6}")  # exactly six ASCII digits; no spaces, no other numerals


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """HOTP value of counter (RFC 4226 §5.3: HMAC, dynamic truncation, modulo 10^digits)."""
    digest = hmac.new(key, struct.pack(">Q", counter), algorithm).digest()
    offset = digest[-1] & 0x0F
    binary = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(now: float, period: int = PERIOD) -> int:
    """T = floor((now - T0) / X) with T0 = 0 (RFC 6238 §4.2)."""
    return int(now // period)


def is_well_formed(code: str) -> bool:
    return _CODE.fullmatch(code) is not None


def matching_step(key: bytes, code: str, now: float, drift: int = DRIFT) -> int | None:
    """The time step within ``drift`` of now whose code is ``code``, or None.

    Every candidate is computed and compared with hmac.compare_digest, so the time taken does
    not depend on which step (if any) matched.
    """
    if not is_well_formed(code):
        return None
    current = time_step(now)
    found = None
    for step in range(current - drift, current + drift + 1):
        if hmac.compare_digest(hotp(key, step).encode(), code.encode()):
            found = step
    return found


def new_secret() -> str:
    """A fresh shared secret: 160 bits from the OS CSPRNG, base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def secret_key(secret: str) -> bytes:
    """The key bytes of a base32 secret (padding optional)."""
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def provisioning_uri(secret: str, issuer: str, account: str) -> str:
    """``otpauth://totp/{issuer}:{account}?secret=…&issuer=…`` (Key Uri Format)."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    query = urlencode({
        "secret": secret, "issuer": issuer, "algorithm": "SHA1",
        "digits": DIGITS, "period": PERIOD,
    }, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def qr_code(uri: str) -> str:
    """A ``data:image/png;base64,…`` URI of the QR code of uri (error correction M)."""
    return segno.make(uri, error="m", micro=False).png_data_uri(scale=5, border=4)

