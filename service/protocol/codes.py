"""Centrifugo v4 error, disconnect and unsubscribe codes (docs/protocol.md#codes).

``ErrorCode`` values become ``Reply.error`` and keep the connection open; ``DisconnectCode``
values close it.  Messages and reasons are the exact v4 texts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """A reply error (docs/protocol.md#codes)."""

    code: int
    message: str
    temporary: bool = False


@dataclass(frozen=True, slots=True)
class DisconnectCode:
    """A disconnect (docs/protocol.md#codes); reconnect is derived from the code in protocol v2."""

    code: int
    reason: str

    @property
    def reconnect(self) -> bool:
        c = self.code
        return c < 3500 or c >= 5000 or 4000 <= c < 4500

    @property
    def discards_queue(self) -> bool:
        """Queued messages are dropped, not flushed, before closing: the peer is gone (3000)
        or does not read (3008) (docs/protocol.md#how-a-disconnect-reaches-the-client)."""
        return self.code in _DISCARDING

    @property
    def peer_gone(self) -> bool:
        """3000: the client went away; nothing is sent (no close frame, no push)."""
        return self.code == _CONNECTION_CLOSED

    @property
    def slow(self) -> bool:
        """3008: the client does not read; its socket is dropped at once."""
        return self.code == _SLOW


class ReplyError(Exception):
    """Raised by command handlers to answer with an error reply."""

    def __init__(self, error: ErrorCode) -> None:
        super().__init__(error.message)
        self.error = error


class DisconnectError(Exception):
    """Raised by command handlers to close the connection with a disconnect code."""

    def __init__(self, disconnect: DisconnectCode) -> None:
        super().__init__(disconnect.reason)
        self.disconnect = disconnect


ERROR_INTERNAL = ErrorCode(100, "internal server error", True)
ERROR_UNAUTHORIZED = ErrorCode(101, "unauthorized")
ERROR_UNKNOWN_CHANNEL = ErrorCode(102, "unknown channel")
ERROR_PERMISSION_DENIED = ErrorCode(103, "permission denied")
ERROR_METHOD_NOT_FOUND = ErrorCode(104, "method not found")
ERROR_ALREADY_SUBSCRIBED = ErrorCode(105, "already subscribed")
ERROR_LIMIT_EXCEEDED = ErrorCode(106, "limit exceeded")
ERROR_BAD_REQUEST = ErrorCode(107, "bad request")
ERROR_NOT_AVAILABLE = ErrorCode(108, "not available")
ERROR_TOKEN_EXPIRED = ErrorCode(109, "token expired")
ERROR_EXPIRED = ErrorCode(110, "expired")
ERROR_TOO_MANY_REQUESTS = ErrorCode(111, "too many requests", True)
ERROR_UNRECOVERABLE_POSITION = ErrorCode(112, "unrecoverable position")

_CONNECTION_CLOSED, _SLOW, _WRITE_ERROR = 3000, 3008, 3009
_DISCARDING = frozenset((_CONNECTION_CLOSED, _SLOW))

DISCONNECT_CONNECTION_CLOSED = DisconnectCode(_CONNECTION_CLOSED, "connection closed")
DISCONNECT_SHUTDOWN = DisconnectCode(3001, "shutdown")
DISCONNECT_SERVER_ERROR = DisconnectCode(3004, "internal server error")
DISCONNECT_EXPIRED = DisconnectCode(3005, "connection expired")
DISCONNECT_SUB_EXPIRED = DisconnectCode(3006, "subscription expired")
DISCONNECT_SLOW = DisconnectCode(_SLOW, "slow")
DISCONNECT_WRITE_ERROR = DisconnectCode(_WRITE_ERROR, "write error")
DISCONNECT_INSUFFICIENT_STATE = DisconnectCode(3010, "insufficient state")
DISCONNECT_FORCE_RECONNECT = DisconnectCode(3011, "force reconnect")
DISCONNECT_NO_PONG = DisconnectCode(3012, "no pong")
DISCONNECT_TOO_MANY_REQUESTS = DisconnectCode(3013, "too many requests")
DISCONNECT_INVALID_TOKEN = DisconnectCode(3500, "invalid token")
DISCONNECT_BAD_REQUEST = DisconnectCode(3501, "bad request")
DISCONNECT_STALE = DisconnectCode(3502, "stale")
DISCONNECT_FORCE_NO_RECONNECT = DisconnectCode(3503, "force disconnect")
DISCONNECT_CONNECTION_LIMIT = DisconnectCode(3504, "connection limit")
DISCONNECT_CHANNEL_LIMIT = DisconnectCode(3505, "channel limit")
DISCONNECT_INAPPROPRIATE_PROTOCOL = DisconnectCode(3506, "inappropriate protocol")
DISCONNECT_PERMISSION_DENIED = DisconnectCode(3507, "permission denied")
DISCONNECT_NOT_AVAILABLE = DisconnectCode(3508, "not available")
DISCONNECT_TOO_MANY_ERRORS = DisconnectCode(3509, "too many errors")

# a unidirectional connect cannot answer an error: these errors become these disconnects,
# any other one 3004 (docs/protocol.md#connecting)
UNI_CONNECT_ERRORS = {
    ERROR_TOKEN_EXPIRED.code: DISCONNECT_EXPIRED,
    ERROR_TOO_MANY_REQUESTS.code: DISCONNECT_TOO_MANY_REQUESTS,
    ERROR_PERMISSION_DENIED.code: DISCONNECT_PERMISSION_DENIED,
}

UNSUBSCRIBE_CLIENT = (0, "client unsubscribed")  # internal: the client asked; never sent
UNSUBSCRIBE_SERVER = (2000, "server unsubscribe")
UNSUBSCRIBE_INSUFFICIENT_STATE = (2500, "insufficient state")
UNSUBSCRIBE_EXPIRED = (2501, "subscription expired")

_DEFAULT_REASONS = {
    d.code: d.reason
    for d in (
        DISCONNECT_CONNECTION_CLOSED,
        DISCONNECT_SHUTDOWN,
        DISCONNECT_SERVER_ERROR,
        DISCONNECT_EXPIRED,
        DISCONNECT_SUB_EXPIRED,
        DISCONNECT_SLOW,
        DISCONNECT_WRITE_ERROR,
        DISCONNECT_INSUFFICIENT_STATE,
        DISCONNECT_FORCE_RECONNECT,
        DISCONNECT_NO_PONG,
        DISCONNECT_TOO_MANY_REQUESTS,
        DISCONNECT_INVALID_TOKEN,
        DISCONNECT_BAD_REQUEST,
        DISCONNECT_STALE,
        DISCONNECT_FORCE_NO_RECONNECT,
        DISCONNECT_CONNECTION_LIMIT,
        DISCONNECT_CHANNEL_LIMIT,
        DISCONNECT_INAPPROPRIATE_PROTOCOL,
        DISCONNECT_PERMISSION_DENIED,
        DISCONNECT_NOT_AVAILABLE,
        DISCONNECT_TOO_MANY_ERRORS,
    )
}


def disconnect_with_default_reason(code: int, reason: str) -> DisconnectCode:
    """Build a disconnect, filling an empty reason (SDKs read ``reason`` by key,
    docs/protocol.md#messages-and-encodings)."""
    if not reason:
        reason = _DEFAULT_REASONS.get(code, "disconnect")
    return DisconnectCode(code, reason)
