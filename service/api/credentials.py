"""Constant-time comparison of credentials taken from requests (one home for every API).

Request headers, query strings and form fields may hold any bytes: aiohttp hands them over as
``str`` with undecodable bytes as lone surrogates (``surrogateescape``), which ``str.encode``
refuses and ``hmac.compare_digest`` refuses as non-ASCII ``str``.  Comparing the raw bytes
makes a malformed credential a plain mismatch (401), never an exception (500).
"""

from __future__ import annotations

import hmac


def as_bytes(value: str | bytes) -> bytes:
    """The bytes a request value was made of (lone surrogates back to their raw bytes)."""
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8", "surrogateescape")


def secret_equal(given: str | bytes, expected: str) -> bool:
    """True when ``given`` equals the configured ``expected`` (never raises; an empty
    ``expected`` matches nothing)."""
    if not expected:
        return False
    return hmac.compare_digest(as_bytes(given), as_bytes(expected))
