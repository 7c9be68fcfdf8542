"""Field numbers that are the wire format (docs/protocol.md#messages-and-encodings,
docs/transports.md#grpc-streams, proto/centrifugal/centrifugo/api/api.proto,
proto/centrifugal/centrifugo/proxy/proxy.proto): catch any renumbering."""

from __future__ import annotations

import pytest
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.api import api_pb2
from centrifugal.centrifugo.proxy import proxy_pb2
from centrifugal.centrifugo.stream import stream_pb2
from centrifugal.centrifugo.unistream import unistream_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.message import Message


def _num(msg: type[Message], field: str) -> int:
    return msg.DESCRIPTOR.fields_by_name[field].number


@pytest.mark.parametrize(
    ("msg", "field", "number"),
    [
        (client_pb2.Command, "id", 1),
        (client_pb2.Command, "method", 2),
        (client_pb2.Command, "connect", 4),
        (client_pb2.Command, "send", 12),
        (client_pb2.Command, "sub_refresh", 15),
        (client_pb2.Reply, "error", 2),
        (client_pb2.Reply, "push", 4),
        (client_pb2.Reply, "connect", 5),
        (client_pb2.Reply, "sub_refresh", 15),
        (client_pb2.Push, "type", 1),
        (client_pb2.Push, "channel", 2),
        (client_pb2.Push, "pub", 4),
        (client_pb2.Push, "connect", 10),
        (client_pb2.Push, "refresh", 12),
        (client_pb2.Publication, "data", 4),
        (client_pb2.Publication, "offset", 6),
        (client_pb2.Publication, "tags", 7),
        (client_pb2.Unsubscribe, "code", 2),
        (client_pb2.Subscribe, "epoch", 4),
        (client_pb2.Connect, "subs", 4),
        (client_pb2.Connect, "node", 10),
        (client_pb2.ConnectResult, "subs", 6),
        (client_pb2.ConnectResult, "ping", 7),
        (client_pb2.ConnectResult, "node", 10),
        (client_pb2.SubscribeRequest, "epoch", 6),
        (client_pb2.SubscribeRequest, "join_leave", 11),
        (client_pb2.SubscribeResult, "was_recovering", 12),
        (client_pb2.HistoryRequest, "limit", 7),
        (client_pb2.HistoryRequest, "since", 8),
        (client_pb2.HistoryRequest, "reverse", 9),
        (client_pb2.RPCRequest, "method", 2),
        (client_pb2.EmulationRequest, "data", 3),
        (unistream_pb2.Push, "connect", 10),
        (unistream_pb2.SubscribeRequest, "recover", 3),
        (unistream_pb2.SubscribeRequest, "offset", 7),
        (unistream_pb2.Connect, "node", 10),
        (api_pb2.Command, "publish", 4),
        (api_pb2.Command, "channels", 16),
        (api_pb2.Command, "update_push_status", 34),
        (api_pb2.Reply, "result", 3),
        (api_pb2.Reply, "rpc", 14),
        (api_pb2.Publication, "data", 2),
        (api_pb2.Publication, "offset", 4),
        (api_pb2.HistoryRequest, "since", 3),
        (api_pb2.SubscribeRequest, "override", 10),
        (api_pb2.DisconnectRequest, "whitelist", 4),
        (api_pb2.NodeResult, "num_subs", 10),
        (api_pb2.PublishResponse, "error", 1),
        (api_pb2.PublishResponse, "result", 2),
        (proxy_pb2.ConnectRequest, "encoding", 4),
        (proxy_pb2.ConnectRequest, "channels", 14),
        (proxy_pb2.ConnectResult, "meta", 9),
        (proxy_pb2.SubscribeResult, "override", 6),
        (proxy_pb2.PublishRequest, "meta", 14),
        (proxy_pb2.ConnectResponse, "disconnect", 3),
    ],
)
def test_field_number(msg: type[Message], field: str, number: int) -> None:
    assert _num(msg, field) == number


def _reserved(msg: type[Message]) -> set[int]:
    proto = descriptor_pb2.DescriptorProto()
    msg.DESCRIPTOR.CopyToProto(proto)
    return {n for r in proto.reserved_range for n in range(r.start, r.end)}


@pytest.mark.parametrize(
    ("msg", "numbers"),
    [
        (client_pb2.Publication, {1, 2, 3}),
        (client_pb2.Unsubscribe, {1}),
        (client_pb2.Subscribe, {2, 3}),
        (client_pb2.SubscribeRequest, {4, 5}),
        (client_pb2.SubscribeResult, {4, 5}),
        (client_pb2.HistoryRequest, {2, 3, 4, 5, 6}),
        (unistream_pb2.Publication, {1, 2, 3}),
        (api_pb2.Publication, {1}),
    ],
)
def test_reserved(msg: type[Message], numbers: set[int]) -> None:
    assert _reserved(msg) == numbers


def test_enums() -> None:
    assert client_pb2.Command.SUB_REFRESH == 11
    assert client_pb2.Push.REFRESH == 8
    assert api_pb2.Command.REFRESH == 12
    assert api_pb2.Command.CONNECTIONS == 14
    assert api_pb2.Command.UPDATE_PUSH_STATUS == 31


def test_service_paths() -> None:
    api = api_pb2.DESCRIPTOR.services_by_name["CentrifugoApi"]
    assert api.full_name == "centrifugal.centrifugo.api.CentrifugoApi"
    assert len(api.methods) == 32
    for m in api.methods:
        assert m.input_type.name == f"{m.name}Request"
        assert m.output_type.name == f"{m.name}Response"
    uni_service = unistream_pb2.DESCRIPTOR.services_by_name["CentrifugoUniStream"]
    uni = uni_service.methods_by_name["Consume"]
    assert (uni.input_type.full_name, uni.output_type.full_name) == (
        "centrifugal.centrifugo.unistream.ConnectRequest",
        "centrifugal.centrifugo.unistream.Push",
    )
    assert uni.server_streaming and not uni.client_streaming
    proxy = proxy_pb2.DESCRIPTOR.services_by_name["CentrifugoProxy"]
    assert sorted(m.name for m in proxy.methods) == sorted(
        ["Connect", "Refresh", "Subscribe", "Publish", "RPC", "SubRefresh"]
    )
    comm = stream_pb2.DESCRIPTOR.services_by_name["CentrifugoStream"].methods_by_name["Communicate"]
    assert comm.input_type.full_name == "centrifugal.centrifuge.protocol.Command"
    assert comm.output_type.full_name == "centrifugal.centrifuge.protocol.Reply"
    assert comm.client_streaming and comm.server_streaming
