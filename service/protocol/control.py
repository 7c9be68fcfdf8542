"""Node-to-node control messages (Centrifuge ``controlpb``, docs/redis.md#control-messages):
encode / decode.

Sans-I/O: plain dataclasses in, protobuf bytes out, so a Gyre node and a Centrifugo v4 node
on one Redis understand each other's NODE, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, REFRESH,
SHUTDOWN and SURVEY messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlpb import control_pb2 as pb
from google.protobuf.message import DecodeError

from .errors import ProtocolError

NODE, UNSUBSCRIBE, DISCONNECT, SHUTDOWN = 0, 1, 2, 3
SURVEY_REQUEST, SURVEY_RESPONSE, SUBSCRIBE, NOTIFICATION, REFRESH = 4, 5, 6, 7, 8


@dataclass(slots=True)
class NodeInfo:
    """``controlpb.Node``.  ``metrics`` is ``Node.metrics`` (``interval`` seconds, named
    counters); ``data`` is the opaque ``Node.data`` (Gyre puts its process stats there as
    JSON, see ``service.core.cluster``; Centrifugo v4 OSS sends none and ignores it)."""

    uid: str
    name: str = ""
    version: str = ""
    num_clients: int = 0
    num_users: int = 0
    num_channels: int = 0
    uptime: int = 0
    num_subs: int = 0
    metrics_interval: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    data: bytes = b""


@dataclass(slots=True)
class Subscribe:
    user: str
    channel: str
    emit_presence: bool = False
    emit_join_leave: bool = False
    expire_at: int = 0
    position: bool = False
    recover: bool = False
    channel_info: bytes = b""
    client: str = ""
    data: bytes = b""
    recover_since: tuple[int, str] | None = None
    session: str = ""
    push_join_leave: bool = False


@dataclass(slots=True)
class Unsubscribe:
    channel: str
    user: str
    client: str = ""
    session: str = ""
    code: int = 0
    reason: str = ""


@dataclass(slots=True)
class Disconnect:
    user: str
    code: int
    reason: str
    whitelist: list[str] = field(default_factory=list)
    reconnect: bool = False
    client: str = ""
    session: str = ""


@dataclass(slots=True)
class Refresh:
    user: str
    client: str = ""
    expired: bool = False
    expire_at: int = 0
    info: bytes = b""
    session: str = ""


@dataclass(slots=True)
class SurveyRequest:
    id: int
    op: str
    data: bytes = b""


@dataclass(slots=True)
class SurveyResponse:
    id: int
    code: int = 0
    data: bytes = b""


@dataclass(slots=True)
class Shutdown:
    pass


Params = (
    NodeInfo
    | Subscribe
    | Unsubscribe
    | Disconnect
    | Refresh
    | SurveyRequest
    | SurveyResponse
    | Shutdown
)


def encode(uid: str, params: Params) -> bytes:
    """One ``controlpb.Command`` from sender ``uid``."""
    method: Any
    msg: Any
    if isinstance(params, NodeInfo):
        method = NODE
        msg = pb.Node(
            uid=params.uid,
            name=params.name,
            version=params.version,
            num_clients=params.num_clients,
            num_users=params.num_users,
            num_channels=params.num_channels,
            uptime=params.uptime,
            num_subs=params.num_subs,
            data=params.data,
        )
        if params.metrics:
            msg.metrics.interval = params.metrics_interval
            msg.metrics.items.update(params.metrics)
    elif isinstance(params, Subscribe):
        method = SUBSCRIBE
        msg = pb.Subscribe(
            user=params.user,
            channel=params.channel,
            emit_presence=params.emit_presence,
            emit_join_leave=params.emit_join_leave,
            expire_at=params.expire_at,
            position=params.position,
            recover=params.recover,
            channel_info=params.channel_info,
            client=params.client,
            data=params.data,
            session=params.session,
            push_join_leave=params.push_join_leave,
        )
        if params.recover_since is not None:
            msg.recover_since.offset = params.recover_since[0]
            msg.recover_since.epoch = params.recover_since[1]
    elif isinstance(params, Unsubscribe):
        method = UNSUBSCRIBE
        msg = pb.Unsubscribe(
            channel=params.channel,
            user=params.user,
            client=params.client,
            session=params.session,
            code=params.code,
            reason=params.reason,
        )
    elif isinstance(params, Disconnect):
        method = DISCONNECT
        msg = pb.Disconnect(
            user=params.user,
            whitelist=params.whitelist,
            code=params.code,
            reason=params.reason,
            reconnect=params.reconnect,
            client=params.client,
            session=params.session,
        )
    elif isinstance(params, Refresh):
        method = REFRESH
        msg = pb.Refresh(
            user=params.user,
            client=params.client,
            expired=params.expired,
            expire_at=params.expire_at,
            info=params.info,
            session=params.session,
        )
    elif isinstance(params, SurveyRequest):
        method = SURVEY_REQUEST
        msg = pb.SurveyRequest(id=params.id, op=params.op, data=params.data)
    elif isinstance(params, SurveyResponse):
        method = SURVEY_RESPONSE
        msg = pb.SurveyResponse(id=params.id, code=params.code, data=params.data)
    else:
        method = SHUTDOWN
        msg = pb.Shutdown()
    cmd = pb.Command(uid=uid, method=method, params=msg.SerializeToString())
    data: bytes = cmd.SerializeToString()
    return data


def decode(data: bytes) -> tuple[str, Params | None]:
    """Return (sender uid, params); params None for a method this node does not handle.

    Raises ProtocolError for undecodable bytes.
    """
    try:
        cmd = pb.Command.FromString(data)
        method = cmd.method
        raw = cmd.params
        if method == NODE:
            n = pb.Node.FromString(raw)
            return cmd.uid, NodeInfo(
                uid=n.uid,
                name=n.name,
                version=n.version,
                num_clients=n.num_clients,
                num_users=n.num_users,
                num_channels=n.num_channels,
                uptime=n.uptime,
                num_subs=n.num_subs,
                metrics_interval=n.metrics.interval,
                metrics=dict(n.metrics.items),
                data=n.data,
            )
        if method == SUBSCRIBE:
            s = pb.Subscribe.FromString(raw)
            since = (
                (s.recover_since.offset, s.recover_since.epoch)
                if s.HasField("recover_since")
                else None
            )
            return cmd.uid, Subscribe(
                user=s.user,
                channel=s.channel,
                emit_presence=s.emit_presence,
                emit_join_leave=s.emit_join_leave,
                expire_at=s.expire_at,
                position=s.position,
                recover=s.recover,
                channel_info=s.channel_info,
                client=s.client,
                data=s.data,
                recover_since=since,
                session=s.session,
                push_join_leave=s.push_join_leave,
            )
        if method == UNSUBSCRIBE:
            u = pb.Unsubscribe.FromString(raw)
            return cmd.uid, Unsubscribe(
                channel=u.channel,
                user=u.user,
                client=u.client,
                session=u.session,
                code=u.code,
                reason=u.reason,
            )
        if method == DISCONNECT:
            d = pb.Disconnect.FromString(raw)
            return cmd.uid, Disconnect(
                user=d.user,
                code=d.code,
                reason=d.reason,
                whitelist=list(d.whitelist),
                reconnect=d.reconnect,
                client=d.client,
                session=d.session,
            )
        if method == REFRESH:
            r = pb.Refresh.FromString(raw)
            return cmd.uid, Refresh(
                user=r.user,
                client=r.client,
                expired=r.expired,
                expire_at=r.expire_at,
                info=r.info,
                session=r.session,
            )
        if method == SURVEY_REQUEST:
            q = pb.SurveyRequest.FromString(raw)
            return cmd.uid, SurveyRequest(id=q.id, op=q.op, data=q.data)
        if method == SURVEY_RESPONSE:
            a = pb.SurveyResponse.FromString(raw)
            return cmd.uid, SurveyResponse(id=a.id, code=a.code, data=a.data)
        if method == SHUTDOWN:
            return cmd.uid, Shutdown()
        return cmd.uid, None
    except DecodeError as e:
        raise ProtocolError(f"malformed control message: {e}") from None


# --- survey payloads ----------------------------------------------------------------------


def encode_channels_request(pattern: str) -> bytes:
    """Protobuf api ``ChannelsRequest`` (survey op ``channels``)."""
    from centrifugal.centrifugo.api import api_pb2

    data: bytes = api_pb2.ChannelsRequest(pattern=pattern).SerializeToString()
    return data


def decode_channels_request(data: bytes) -> str:
    from centrifugal.centrifugo.api import api_pb2

    pattern: str = api_pb2.ChannelsRequest.FromString(data).pattern
    return pattern


def encode_channels_result(channels: dict[str, int]) -> bytes:
    """Protobuf api ``ChannelsResult`` with ``num_clients`` per channel."""
    from centrifugal.centrifugo.api import api_pb2

    res = api_pb2.ChannelsResult()
    for ch, n in channels.items():
        res.channels[ch].num_clients = n
    data: bytes = res.SerializeToString()
    return data


def decode_channels_result(data: bytes) -> dict[str, int]:
    from centrifugal.centrifugo.api import api_pb2

    res = api_pb2.ChannelsResult.FromString(data)
    return {ch: info.num_clients for ch, info in res.channels.items()}


def encode_emulation_request(node: str, session: str, data: bytes) -> bytes:
    """Protobuf ``EmulationRequest`` (survey op ``centrifuge_emulation``)."""
    from centrifugal.centrifuge.protocol import client_pb2

    out: bytes = client_pb2.EmulationRequest(
        node=node, session=session, data=data
    ).SerializeToString()
    return out


def decode_emulation_request(data: bytes) -> tuple[str, bytes]:
    """Return (session, command bytes)."""
    from centrifugal.centrifuge.protocol import client_pb2

    req = client_pb2.EmulationRequest.FromString(data)
    return req.session, req.data
