"""HS256 token generation for the ``gentoken`` / ``gensubtoken`` CLI commands
(docs/configuration.md#command-line)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from service.auth.b64 import b64url_encode
from service.auth.jws import hmac_sign

_HEADER = b64url_encode(orjson.dumps({"alg": "HS256", "typ": "JWT"}))


def generate_token(
    *,
    secret: str,
    user: str,
    ttl: int,
    channel: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Return an HS256 JWT signed with ``secret``.

    Claims: ``sub`` = user, ``exp`` = now + ttl (omitted when ``ttl <= 0``), ``iat`` = now,
    ``channel`` when given (subscription token), then ``extra`` (overrides the above).
    ValueError if ``secret`` is empty.
    """
    if not secret:
        raise ValueError("token_hmac_secret_key is required to generate tokens")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user}
    if ttl > 0:
        claims["exp"] = now + ttl
    claims["iat"] = now
    if channel is not None:
        claims["channel"] = channel
    if extra:
        claims.update(extra)
    signing_input = f"{_HEADER}.{b64url_encode(orjson.dumps(claims))}"
    signature = hmac_sign("HS256", secret.encode("utf-8"), signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"
