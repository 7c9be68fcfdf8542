"""Proxy requests and responses, as proto ``centrifugal.centrifugo.proxy`` defines them.

One Struct per message of ``proto/centrifugal/centrifugo/proxy/proxy.proto``; attribute names
are the proto field names, which are also the JSON keys of the HTTP proxy (docs/proxy.md).
Both adapters speak these Structs: the HTTP one encodes them as JSON, the gRPC one maps them
field by field onto the generated protobuf classes.

``bytes`` fields are ``msgspec.Raw``: in JSON they are embedded raw JSON (never base64), over
gRPC they are the bytes themselves.  Zero values are omitted from JSON, except ``user`` in the
non-connect requests, which Centrifugo always writes (even ``""``): it has no default here.
Unknown keys in a backend's answer are ignored; a value of the wrong type makes the answer
invalid (a proxy failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from msgspec import Raw

from ..protocol.messages import EMPTY as EMPTY
from ..protocol.messages import Error as Error  # the same fields as proxy.proto's Error


class _Msg(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Base: zero values are omitted from JSON output."""


# --- shared -------------------------------------------------------------------------------


class Disconnect(_Msg):
    code: int = 0
    reason: str = ""
    reconnect: bool = False  # legacy, ignored for protocol v2 clients


class BoolValue(_Msg):
    value: bool = False


class SubscribeOptionOverride(_Msg):
    presence: BoolValue | None = None
    join_leave: BoolValue | None = None
    force_recovery: BoolValue | None = None
    force_positioning: BoolValue | None = None
    force_push_join_leave: BoolValue | None = None


class SubscribeOptions(_Msg):
    expire_at: int = 0
    info: Raw = EMPTY
    b64info: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    override: SubscribeOptionOverride | None = None


class ChannelsCapability(_Msg):
    channels: list[str] = []
    allow: list[str] = []
    match: str = ""


# --- requests -----------------------------------------------------------------------------


class _Request(_Msg):
    """Fields 1-4 of every request: connection id, transport name, client protocol (``json``
    or ``protobuf``) and payload encoding (``json``, or ``binary`` for base64 payloads)."""

    client: str
    transport: str
    protocol: str
    encoding: str


class _UserRequest(_Request):
    """Requests about a connected client: ``user`` (field 10) is always written."""

    user: str


class ConnectRequest(_Request):
    data: Raw = EMPTY
    b64data: str = ""
    name: str = ""
    version: str = ""
    channels: list[str] = []


class RefreshRequest(_UserRequest):
    meta: Raw = EMPTY


class SubscribeRequest(_UserRequest):
    channel: str = ""
    token: str = ""
    meta: Raw = EMPTY
    data: Raw = EMPTY
    b64data: str = ""


class PublishRequest(_UserRequest):
    channel: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    meta: Raw = EMPTY


class RPCRequest(_UserRequest):
    method: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    meta: Raw = EMPTY


class SubRefreshRequest(_UserRequest):
    channel: str = ""
    meta: Raw = EMPTY


# --- results and responses ----------------------------------------------------------------


class ConnectResult(_Msg):
    user: str = ""
    expire_at: int = 0
    info: Raw = EMPTY
    b64info: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    channels: list[str] = []
    subs: dict[str, SubscribeOptions] = {}  # ignored, as by Centrifugo v4.1.5
    meta: Raw = EMPTY
    caps: list[ChannelsCapability] = []  # Centrifugo PRO only; ignored


class RefreshResult(_Msg):
    expired: bool = False
    expire_at: int = 0
    info: Raw = EMPTY
    b64info: str = ""
    meta: Raw = EMPTY
    caps: list[ChannelsCapability] = []


class SubscribeResult(_Msg):
    expire_at: int = 0  # not applied, as by Centrifugo v4.1.5
    info: Raw = EMPTY
    b64info: str = ""
    data: Raw = EMPTY
    b64data: str = ""
    override: SubscribeOptionOverride | None = None
    allow: list[str] = []


class PublishResult(_Msg):
    data: Raw = EMPTY
    b64data: str = ""
    skip_history: bool = False


class RPCResult(_Msg):
    data: Raw = EMPTY
    b64data: str = ""


class SubRefreshResult(_Msg):
    expired: bool = False
    expire_at: int = 0
    info: Raw = EMPTY
    b64info: str = ""


class _Response(_Msg):
    """Every response is ``result`` (1, per type), ``error`` (2) or ``disconnect`` (3)."""

    error: Error | None = None
    disconnect: Disconnect | None = None


class ConnectResponse(_Response):
    result: ConnectResult | None = None


class RefreshResponse(_Response):
    result: RefreshResult | None = None


class SubscribeResponse(_Response):
    result: SubscribeResult | None = None


class PublishResponse(_Response):
    result: PublishResult | None = None


class RPCResponse(_Response):
    result: RPCResult | None = None


class SubRefreshResponse(_Response):
    result: SubRefreshResult | None = None


ReqT = TypeVar("ReqT", bound=msgspec.Struct)
RespT = TypeVar("RespT", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Kind(Generic[ReqT, RespT]):
    """One proxy type: its config name, its CentrifugoProxy method and its message types."""

    name: str  # connect, refresh, subscribe, publish, rpc, sub_refresh
    method: str  # Connect, Refresh, Subscribe, Publish, RPC, SubRefresh
    request: type[ReqT]
    response: type[RespT]


CONNECT = Kind("connect", "Connect", ConnectRequest, ConnectResponse)
REFRESH = Kind("refresh", "Refresh", RefreshRequest, RefreshResponse)
SUBSCRIBE = Kind("subscribe", "Subscribe", SubscribeRequest, SubscribeResponse)
PUBLISH = Kind("publish", "Publish", PublishRequest, PublishResponse)
RPC = Kind("rpc", "RPC", RPCRequest, RPCResponse)
SUB_REFRESH = Kind("sub_refresh", "SubRefresh", SubRefreshRequest, SubRefreshResponse)
KINDS: tuple[Kind[Any, Any], ...] = (CONNECT, REFRESH, SUBSCRIBE, PUBLISH, RPC, SUB_REFRESH)
