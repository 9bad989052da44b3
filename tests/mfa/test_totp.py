"""HOTP and TOTP against the RFCs' own test vectors, and the verification rules around them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from authserver.mfa import totp

RFC4226_KEY = b"12345678901234567890"
# RFC 4226 Appendix D: HOTP values for counters 0-9 (SHA-1, 6 digits).
RFC4226_VALUES = ["755224", "287082", "359152", "969429", "338314",
                  "254676", "287922", "162583", "399871", "520489"]

# RFC 6238 Appendix B: time, then the 8-digit TOTP for SHA-1, SHA-256 and SHA-512.
RFC6238_KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VALUES = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_VALUES)))
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert totp.hotp(RFC4226_KEY, counter) == expected


@pytest.mark.parametrize(("now", *RFC6238_KEYS), RFC6238_VALUES)
def test_rfc6238_appendix_b(now: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        step = totp.time_step(now)
        assert totp.hotp(RFC6238_KEYS[algorithm], step, digits=8, algorithm=algorithm) == expected


def test_a_code_matches_its_step_and_one_step_either_side_only() -> None:
    now = 5 * 30 + 1  # step 5
    assert totp.matching_step(RFC4226_KEY, RFC4226_VALUES[5], now) == 5
    assert totp.matching_step(RFC4226_KEY, RFC4226_VALUES[4], now) == 4
    assert totp.matching_step(RFC4226_KEY, RFC4226_VALUES[6], now) == 6
    assert totp.matching_step(RFC4226_KEY, RFC4226_VALUES[3], now) is None
    assert totp.matching_step(RFC4226_KEY, RFC4226_VALUES[7], now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", " 755224", "755 224", "75522a",
                                  "\u0667\u0665\u0665\u0662\u0662\u0664", "+75522"])
def test_only_six_ascii_digits_are_a_code(code: str) -> None:
    assert not totp.is_well_formed(code)
    assert totp.matching_step(RFC4226_KEY, code, 1) is None


def test_new_secrets_are_160_random_bits_in_base32() -> None:
    secrets_made = {totp.new_secret() for _ in range(50)}
    assert len(secrets_made) == 50
    for secret in secrets_made:
        assert len(secret) == 32 and len(totp.secret_key(secret)) == 20


def test_the_provisioning_uri_follows_the_key_uri_format() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "Acme & Co", "ann+mfa@example.org")
    assert uri == (
        "otpauth://totp/Acme%20%26%20Co:ann%2Bmfa@example.org?secret=JBSWY3DPEHPK3PXP"
        "&issuer=Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30"
    )


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="oathtool (Debian oathtool) missing")
def test_oathtool_and_protekt_agree() -> None:
    secret = totp.new_secret()
    for now in (0, 59, 1111111109, 2000000000):
        made = subprocess.run(
            ["oathtool", "--totp", "-b", "--now", f"@{now}", secret],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        assert totp.matching_step(totp.secret_key(secret), made, now, drift=0) == now // 30

