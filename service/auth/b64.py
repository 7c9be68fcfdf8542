"""Base64 helpers with Go ``encoding/base64`` acceptance rules.

* :func:`b64url_decode` - ``RawURLEncoding`` (JWS segments): URL-safe alphabet, no padding.
* :func:`b64std_decode` - ``StdEncoding`` (``b64info``/``b64data`` claims): standard alphabet,
  padding required; CR and LF are ignored like Go does.
* :func:`b64url_encode` - unpadded URL-safe encoding (token generation).

Both decoders raise :class:`ValueError` on bad input and, like Go, ignore non-zero trailing bits.
"""

from __future__ import annotations

import base64
import binascii
import re

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_PADDING = ("", "", "==", "=")


def b64url_decode(segment: str) -> bytes:
    """Decode an unpadded base64url string; raise ValueError if it is not one."""
    n = len(segment)
    if n % 4 == 1 or _B64URL_RE.fullmatch(segment) is None:
        raise ValueError("bad base64url segment")
    # str.replace is several times faster than str.translate here (hot path).
    std = segment.replace("-", "+").replace("_", "/")
    return binascii.a2b_base64(std + _PADDING[n % 4])


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64std_decode(value: str) -> bytes:
    """Decode padded standard base64 (CR/LF ignored); raise ValueError if invalid."""
    if "\r" in value or "\n" in value:
        value = value.replace("\r", "").replace("\n", "")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64") from exc
