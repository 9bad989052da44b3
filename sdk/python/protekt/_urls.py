"""The URLs the SDK will talk to: HTTPS, or plain HTTP on this machine only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost",)


def checked_url(url: str, what: str) -> str:
    """``url`` without trailing slashes; ValueError unless https, or http on a loopback host.

    Tokens, passwords and the issuer's keys must not cross a network in the clear (RFC 6749
    §1.6 and §3.2 require TLS; RFC 8725 §3.1 for the keys that decide what is trusted).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be a URL like https://auth.example.com, not {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{what} must use https (plain http only on this machine): {url!r}")
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
