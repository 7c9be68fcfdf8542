"""Client protocol v2 messages (proto package ``centrifugal.centrifuge.protocol``).

Each Struct mirrors one message of ``client.proto``: attribute names are the proto field
names, so the JSON encoding (snake_case keys, zero values omitted) falls out of msgspec with
``omit_defaults=True``.  Fields that Centrifugo always writes in JSON
(docs/protocol.md#messages-and-encodings) have no default and are therefore always encoded.

``bytes`` fields are ``msgspec.Raw``: in JSON they carry embedded raw JSON verbatim (never
base64), in protobuf they carry arbitrary bytes.  ``EMPTY`` is the shared empty value.
v1-only fields are not modelled; unknown keys sent by newer SDKs are ignored on decode.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Raw

EMPTY = Raw(b"")

# Proto integer types of request fields: a JSON value outside the type does not decode (a bad
# request, as in Centrifugo), so it never reaches code that encodes it as protobuf.
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Uint32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
# uint64 offsets stop at 2**63 - 1 (msgspec bounds are int64; offsets are Redis INCR values,
# which are signed 64-bit, so no real offset is larger)
Uint64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _Msg(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Base: zero values are omitted from JSON output."""


# --- shared -------------------------------------------------------------------------------


class Error(_Msg):
    code: int = 0
    message: str = ""
    temporary: bool = False


class ClientInfo(_Msg):
    user: str
    client: str
    conn_info: Raw = EMPTY
    chan_info: Raw = EMPTY


class Publication(_Msg):
    data: Raw = EMPTY
    info: ClientInfo | None = None
    offset: int = 0
    tags: dict[str, str] = {}
    delta: bool = False  # data is a fossil delta (docs/beyond_v4.md#delta-compression)


class StreamPosition(_Msg):
    offset: Uint64 = 0
    epoch: str = ""


class EmulationRequest(_Msg):
    node: str = ""
    session: str = ""
    data: Raw = EMPTY


# --- requests -----------------------------------------------------------------------------


class FilterNode(_Msg):
    """A publication tags filter (docs/beyond_v4.md#tags-filter): a leaf (``op`` empty)
    compares tag ``key`` with ``cmp`` against ``val`` / ``vals``; ``and``, ``or`` and ``not``
    combine ``nodes``."""

    op: str = ""
    key: str = ""
    cmp: str = ""
    val: str = ""
    vals: list[str] = []
    nodes: list[FilterNode] = []


class SubscribeRequest(_Msg):
    channel: str = ""
    token: str = ""
    recover: bool = False
    epoch: str = ""
    offset: int = 0
    data: Raw = EMPTY
    positioned: bool = False
    recoverable: bool = False
    join_leave: bool = False
    delta: str = ""  # delta format asked for: "fossil" (docs/beyond_v4.md)
    tf: FilterNode | None = None  # tags filter
    flag: int = 0  # bit field: 2 = answer 112 to an unrecovered stream recovery


class ConnectRequest(_Msg):
    token: str = ""
    data: Raw = EMPTY
    subs: dict[str, SubscribeRequest] = {}
    name: str = ""
    version: str = ""


class RefreshRequest(_Msg):
    token: str = ""


class SubRefreshRequest(_Msg):
    channel: str = ""
    token: str = ""


class UnsubscribeRequest(_Msg):
    channel: str = ""


class PublishRequest(_Msg):
    channel: str = ""
    data: Raw = EMPTY


class PresenceRequest(_Msg):
    channel: str = ""


class PresenceStatsRequest(_Msg):
    channel: str = ""


class HistoryRequest(_Msg):
    channel: str = ""
    limit: Int32 = 0
    since: StreamPosition | None = None
    reverse: bool = False


class PingRequest(_Msg):
    pass


class RPCRequest(_Msg):
    data: Raw = EMPTY
    method: str = ""


class SendRequest(_Msg):
    data: Raw = EMPTY


class Command(_Msg):
    id: int = 0
    connect: ConnectRequest | None = None
    subscribe: SubscribeRequest | None = None
    unsubscribe: UnsubscribeRequest | None = None
    publish: PublishRequest | None = None
    presence: PresenceRequest | None = None
    presence_stats: PresenceStatsRequest | None = None
    history: HistoryRequest | None = None
    ping: PingRequest | None = None
    send: SendRequest | None = None
    rpc: RPCRequest | None = None
    refresh: RefreshRequest | None = None
    sub_refresh: SubRefreshRequest | None = None


# --- results ------------------------------------------------------------------------------


class SubscribeResult(_Msg):
    expires: bool = False
    ttl: int = 0
    recoverable: bool = False
    epoch: str = ""
    publications: list[Publication] = []
    recovered: bool = False
    offset: int = 0
    positioned: bool = False
    data: Raw = EMPTY
    was_recovering: bool = False
    delta: bool = False  # delta negotiated: publications come in delta mode


class ConnectResult(_Msg):
    client: str = ""
    version: str = ""
    expires: bool = False
    ttl: int = 0
    data: Raw = EMPTY
    subs: dict[str, SubscribeResult] = {}
    ping: int = 0
    pong: bool = False
    session: str = ""
    node: str = ""


class RefreshResult(_Msg):
    client: str = ""
    version: str = ""
    expires: bool = False
    ttl: int = 0


class SubRefreshResult(_Msg):
    expires: bool = False
    ttl: int = 0


class UnsubscribeResult(_Msg):
    pass


class PublishResult(_Msg):
    pass


class PresenceResult(_Msg):
    presence: dict[str, ClientInfo]


class PresenceStatsResult(_Msg):
    num_clients: int
    num_users: int


class HistoryResult(_Msg):
    publications: list[Publication]
    epoch: str
    offset: int


class PingResult(_Msg):
    pass


class RPCResult(_Msg):
    data: Raw = EMPTY


# --- pushes -------------------------------------------------------------------------------


class Join(_Msg):
    info: ClientInfo


class Leave(_Msg):
    info: ClientInfo


class Unsubscribe(_Msg):
    code: int = 0
    reason: str = ""


class Subscribe(_Msg):
    recoverable: bool = False
    epoch: str = ""
    offset: int = 0
    positioned: bool = False
    data: Raw = EMPTY


class Message(_Msg):
    data: Raw = EMPTY


class Connect(_Msg):
    client: str = ""
    version: str = ""
    data: Raw = EMPTY
    subs: dict[str, SubscribeResult] = {}
    expires: bool = False
    ttl: int = 0
    ping: int = 0
    pong: bool = False
    session: str = ""
    node: str = ""


class Disconnect(_Msg):
    code: Uint32 = 0
    reason: str = ""


class Refresh(_Msg):
    expires: bool = False
    ttl: int = 0


class Push(_Msg):
    channel: str = ""
    pub: Publication | None = None
    join: Join | None = None
    leave: Leave | None = None
    unsubscribe: Unsubscribe | None = None
    message: Message | None = None
    subscribe: Subscribe | None = None
    connect: Connect | None = None
    disconnect: Disconnect | None = None
    refresh: Refresh | None = None


class Reply(_Msg):
    id: int = 0
    error: Error | None = None
    push: Push | None = None
    connect: ConnectResult | None = None
    subscribe: SubscribeResult | None = None
    unsubscribe: UnsubscribeResult | None = None
    publish: PublishResult | None = None
    presence: PresenceResult | None = None
    presence_stats: PresenceStatsResult | None = None
    history: HistoryResult | None = None
    ping: PingResult | None = None
    rpc: RPCResult | None = None
    refresh: RefreshResult | None = None
    sub_refresh: SubRefreshResult | None = None


def raw(data: bytes) -> Raw:
    """Wrap payload bytes (raw JSON text or binary) for a ``bytes`` field."""
    return Raw(data) if data else EMPTY
