"""The policy interface: core asks ``ClientHooks`` every permission question.

Core knows nothing of JWT, namespaces or config files; ``service.policy`` implements these
hooks with Centrifugo's rules.  Hooks raise ``ReplyError`` / ``DisconnectError`` (from
``service.protocol.codes``) to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..protocol.messages import (
    ConnectRequest,
    HistoryRequest,
    PublishRequest,
    RefreshRequest,
    RPCRequest,
    SubRefreshRequest,
    SubscribeRequest,
)
from .engine import PublishOptions, StreamPosition
from .tags_filter import TagsFilter

if TYPE_CHECKING:
    from .client import ClientSession


@dataclass(slots=True, kw_only=True)
class SubscriptionOptions:
    """Resolved options of one subscription (client-side or server-side).

    ``join_leave``: publish join/leave for this subscriber; ``push_join_leave``: deliver
    join/leave pushes to it.  ``expire_at`` unix seconds, 0 = never.  ``client_side_refresh``:
    the client refreshes it with ``sub_refresh`` (False when a sub_refresh proxy does it).
    ``recover_since``: position to recover from (server API subscribe).

    Beyond v4 (docs/beyond_v4.md), from the namespace: ``allow_delta`` (fossil may be
    negotiated), ``allow_tags_filter``, ``cache_recovery`` (recover the newest publication
    only), ``auto_recover`` (recover even when not asked to); negotiated by the subscribe:
    ``delta``, ``tags_filter`` and ``reject_unrecovered`` (flag 2: a stream recovery that
    fails answers error 112 instead of ``recovered: false``).
    """

    presence: bool = False
    join_leave: bool = False
    push_join_leave: bool = False
    positioned: bool = False
    recoverable: bool = False
    expire_at: int = 0
    chan_info: bytes = b""
    data: bytes = b""
    client_side_refresh: bool = True
    recover_since: StreamPosition | None = None
    allow_delta: bool = False
    allow_tags_filter: bool = False
    cache_recovery: bool = False
    auto_recover: bool = False
    delta: bool = False
    tags_filter: TagsFilter | None = None
    reject_unrecovered: bool = False


@dataclass(slots=True, kw_only=True)
class ConnectDecision:
    """Credentials and server-side subscriptions granted on connect (docs/protocol.md).

    ``token_channels`` is the set of channels derived from the connection token; a refresh
    whose token yields another set disconnects with 3010.  ``single_connection``: other
    connections of the user are disconnected with 3504 after this one connects
    (``user_personal_single_connection``).
    """

    user: str
    expire_at: int = 0
    info: bytes = b""
    data: bytes = b""
    meta: bytes = b""
    subs: dict[str, SubscriptionOptions] = field(default_factory=dict)
    client_side_refresh: bool = True
    token_channels: frozenset[str] = frozenset()
    single_connection: bool = False


@dataclass(slots=True, kw_only=True)
class RefreshDecision:
    """Result of a client ``refresh``: new expiry (0 = none), new info (None = keep)."""

    expire_at: int = 0
    info: bytes | None = None
    meta: bytes | None = None
    token_channels: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PublishDecision:
    """A client publish allowed: history ``options`` of the channel, and ``data`` that
    replaces the client's payload when not None (a publish proxy may rewrite it)."""

    options: PublishOptions
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class SubRefreshDecision:
    """A server-side subscription refresh that keeps the subscription: new ``expire_at``
    (0 = never expires) and channel info (None = keep)."""

    expire_at: int
    info: bytes | None = None


class ClientHooks(Protocol):
    """Permission and credential decisions for client commands."""

    async def connect(self, client: ClientSession, req: ConnectRequest) -> ConnectDecision: ...

    async def refresh(self, client: ClientSession, req: RefreshRequest) -> RefreshDecision: ...

    async def subscribe(
        self, client: ClientSession, req: SubscribeRequest
    ) -> SubscriptionOptions: ...

    async def sub_refresh(self, client: ClientSession, req: SubRefreshRequest) -> int:
        """Validate a subscription refresh; return the new expire_at (0 = no expiry)."""
        ...

    async def publish(self, client: ClientSession, req: PublishRequest) -> PublishDecision:
        """Permission to publish: the channel's complete history options (as
        ``publish_options``), and the data to publish when not the client's."""
        ...

    async def presence(self, client: ClientSession, channel: str) -> None: ...

    async def presence_stats(self, client: ClientSession, channel: str) -> None: ...

    async def history(self, client: ClientSession, req: HistoryRequest) -> None: ...

    async def rpc(self, client: ClientSession, req: RPCRequest) -> bytes: ...

    async def refresh_expired(self, client: ClientSession) -> RefreshDecision | None:
        """A connection refreshed by the server (``client_side_refresh`` False) reached its
        ``expire_at``: new credentials to keep it, or None to end it with 3005."""
        ...

    async def sub_refresh_expired(
        self, client: ClientSession, channel: str
    ) -> SubRefreshDecision | None:
        """A subscription refreshed by the server (``client_side_refresh`` False) is past
        its ``expire_at``: a new expiry to keep it, or None to end it (2501 for a
        client-side subscription, 3006 for a server-side one)."""
        ...

    def publish_options(self, channel: str) -> PublishOptions:
        """History options of ``channel`` (used for history reads and recovery), complete:
        ``history_meta_ttl`` is filled in (the core applies no default of its own)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCapabilities:
    """What a channel's namespace enables, as the server API needs it."""

    presence: bool
    history: bool
    publish: PublishOptions


class ApiPolicy(Protocol):
    """Channel rules for the server API (never restricted by permissions,
    docs/protocol.md#channels-and-namespaces)."""

    def api_channel(self, channel: str) -> ChannelCapabilities:
        """Raises ReplyError 107 for an empty channel and 102 for an unknown namespace."""
        ...

    def server_subscription(self, channel: str, override: dict[str, bool]) -> SubscriptionOptions:
        """Namespace options for a server-side subscription with ``override`` applied.

        ``override`` keys: presence, join_leave, force_push_join_leave, force_recovery,
        force_positioning.
        """
        ...
