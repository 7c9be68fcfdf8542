"""Server API messages (proto package ``centrifugal.centrifugo.api``,
proto/centrifugal/centrifugo/api/api.proto).

Struct attribute names are the proto field names, so the HTTP JSON shape and the gRPC
protobuf shape come from the same classes (``service.protocol.pb_convert`` maps them by
name).  Where the server API message is the client protocol's message (same fields, same
meaning: ``ClientInfo``, ``Publication``, ``StreamPosition``, ``Disconnect``, the presence and
history requests and results) the class is the protocol's own, imported from
``service.protocol.messages``; only field numbers differ, and they live in the generated
classes.
Fields that v4 always writes in JSON have no default.
"""

from __future__ import annotations

import msgspec
from msgspec import Raw

from ..protocol.messages import (
    EMPTY,
    ClientInfo,
    Disconnect,
    HistoryRequest,
    HistoryResult,
    Int64,
    PresenceRequest,
    PresenceResult,
    PresenceStatsRequest,
    PresenceStatsResult,
    Publication,
    StreamPosition,
)

__all__ = [
    "ClientInfo",
    "Disconnect",
    "HistoryRequest",
    "HistoryResult",
    "PresenceRequest",
    "PresenceResult",
    "PresenceStatsRequest",
    "PresenceStatsResult",
    "Publication",
    "StreamPosition",
]


class _Msg(msgspec.Struct, omit_defaults=True, kw_only=True):
    pass


class Error(_Msg):
    code: int = 0
    message: str = ""


class BoolValue(_Msg):
    value: bool = False


class SubscribeOptionOverride(_Msg):
    presence: BoolValue | None = None
    join_leave: BoolValue | None = None
    force_recovery: BoolValue | None = None
    force_positioning: BoolValue | None = None
    force_push_join_leave: BoolValue | None = None


class PublishRequest(_Msg):
    channel: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    skip_history: bool = False
    tags: dict[str, str] = {}
    idempotency_key: str = ""  # docs/beyond_v4.md#idempotent-publish
    delta: bool = False  # mark for delta delivery (docs/beyond_v4.md)


class PublishResult(_Msg):
    offset: int = 0
    epoch: str = ""


class PublishResponse(_Msg):
    error: Error | None = None
    result: PublishResult | None = None


class BroadcastRequest(_Msg):
    channels: list[str] = []
    data: Raw = EMPTY
    b64data: str = ""
    skip_history: bool = False
    tags: dict[str, str] = {}
    idempotency_key: str = ""  # one remembered result per channel
    delta: bool = False


class BroadcastResult(_Msg):
    responses: list[PublishResponse] = []


class SubscribeRequest(_Msg):
    channel: str = ""
    user: str = ""
    expire_at: Int64 = 0
    info: Raw = EMPTY
    b64info: str = ""
    client: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    recover_since: StreamPosition | None = None
    override: SubscribeOptionOverride | None = None
    session: str = ""


class SubscribeResult(_Msg):
    pass


class UnsubscribeRequest(_Msg):
    channel: str = ""
    user: str = ""
    client: str = ""
    session: str = ""


class UnsubscribeResult(_Msg):
    pass


class DisconnectRequest(_Msg):
    user: str = ""
    disconnect: Disconnect | None = None
    client: str = ""
    whitelist: list[str] = []
    session: str = ""


class DisconnectResult(_Msg):
    pass


class HistoryRemoveRequest(_Msg):
    channel: str = ""


class HistoryRemoveResult(_Msg):
    pass


class InfoRequest(_Msg):
    pass


class Metrics(_Msg):
    interval: float = 0.0
    items: dict[str, float] = {}


class Process(_Msg):
    cpu: float = 0.0
    rss: int = 0


class NodeResult(_Msg):
    uid: str
    name: str
    version: str
    num_clients: int
    num_users: int
    num_channels: int
    uptime: int = 0
    metrics: Metrics | None = None
    process: Process | None = None
    num_subs: int = 0


class InfoResult(_Msg):
    nodes: list[NodeResult]


class RPCRequest(_Msg):
    method: str = ""
    params: Raw = EMPTY


class RPCResult(_Msg):
    data: Raw = EMPTY


class RefreshRequest(_Msg):
    user: str = ""
    client: str = ""
    expired: bool = False
    expire_at: Int64 = 0
    info: Raw = EMPTY
    session: str = ""


class RefreshResult(_Msg):
    pass


class ChannelsRequest(_Msg):
    pattern: str = ""


class ChannelInfo(_Msg):
    num_clients: int


class ChannelsResult(_Msg):
    channels: dict[str, ChannelInfo]
