"""Results of successful token verification.

Raw JSON fields (``info``, ``data``, ``meta``) hold compact JSON text (``orjson.dumps`` of the
decoded claim value, so a JSON ``null`` claim gives ``b"null"``) or the decoded bytes of the
matching ``b64*`` claim, which wins when non-empty. ``b""`` means the claim was absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeOverride:
    """Per-subscription replacement of namespace options; ``None`` = not overridden."""

    presence: bool | None = None
    join_leave: bool | None = None
    force_push_join_leave: bool | None = None
    force_recovery: bool | None = None
    force_positioning: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSideSubscribeOptions:
    """One entry of the connection token ``subs`` claim."""

    info: bytes = b""
    data: bytes = b""
    override: SubscribeOverride | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectToken:
    """A verified connection token.

    ``expire_at``: the ``expire_at`` claim when present (``<= 0`` → 0), else ``floor(exp)``, else
    0; 0 means the connection never expires. ``b64info_error`` is True when the top-level
    ``b64info`` was not valid base64 (the caller replies error 100; ``info`` is then ``b""``).
    ``channels`` and ``subs`` are returned as given: Centrifugo ignores ``channels`` when ``subs``
    is non-empty, and resolving namespaces (error 102) is the caller's job. ``payload`` is the
    decoded claims object.
    """

    user_id: str
    expire_at: int
    info: bytes
    b64info_error: bool
    channels: tuple[str, ...]
    subs: dict[str, ServerSideSubscribeOptions]
    meta: bytes
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeToken:
    """A verified subscription token.

    ``channel`` is non-empty. Comparing ``user_id``, ``channel`` and ``client`` with the
    connection and request (disconnect 3500 on mismatch) is the caller's job. ``expire_at``
    follows the same rule as :class:`ConnectToken`.
    """

    user_id: str
    channel: str
    client: str
    expire_at: int
    info: bytes
    data: bytes
    override: SubscribeOverride | None
    payload: dict[str, Any]
