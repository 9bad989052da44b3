"""The production server's process settings."""

from __future__ import annotations

import platform

import pytest

from authserver.serve import return_large_blocks


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_large_blocks_go_back_to_the_system_on_glibc() -> None:
    """The argon2 memory of each hash is an mmap of its own (no per-thread heap keeps it)."""
    assert return_large_blocks() is True
