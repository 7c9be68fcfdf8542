"""controlpb codec (docs/redis.md#control-messages): field numbers and round trips."""

from __future__ import annotations

import pytest
from controlpb import control_pb2

from service.protocol import ProtocolError
from service.protocol import control as ctl


def test_wire_numbers_match_centrifuge() -> None:
    f = control_pb2.Subscribe.DESCRIPTOR.fields_by_name
    assert (f["user"].number, f["channel"].number, f["recover_since"].number) == (1, 2, 11)
    assert f["push_join_leave"].number == 13
    assert control_pb2.Command.DESCRIPTOR.fields_by_name["params"].number == 3
    assert control_pb2.Command.SURVEY_REQUEST == 4 and control_pb2.Command.REFRESH == 8
    d = control_pb2.Disconnect.DESCRIPTOR.fields_by_name
    assert (d["whitelist"].number, d["code"].number, d["session"].number) == (2, 3, 7)


@pytest.mark.parametrize(
    "params",
    [
        ctl.NodeInfo(uid="n1", name="a", version="1", num_clients=3, num_users=2, uptime=9),
        ctl.NodeInfo(
            uid="n2",
            num_subs=4,
            metrics_interval=12.0,
            metrics={"centrifugo.node.messages_sent_count.publication": 7.0},
            data=b'{"process":{"cpu":1.5,"rss":1024}}',
        ),
        ctl.Subscribe(user="u", channel="c", position=True, recover_since=(5, "e"), data=b"{}"),
        ctl.Unsubscribe(channel="c", user="u", code=2000, reason="server unsubscribe"),
        ctl.Disconnect(user="u", code=3503, reason="force disconnect", whitelist=["x"]),
        ctl.Refresh(user="u", expire_at=10, info=b'{"a":1}'),
        ctl.SurveyRequest(id=7, op="channels", data=b"\x01"),
        ctl.SurveyResponse(id=7, code=2, data=b"z"),
        ctl.Shutdown(),
    ],
)
def test_roundtrip(params: ctl.Params) -> None:
    uid, back = ctl.decode(ctl.encode("node-1", params))
    assert uid == "node-1"
    assert back == params


def test_node_metrics_and_data_use_centrifuge_field_numbers() -> None:
    f = control_pb2.Node.DESCRIPTOR.fields_by_name
    assert (f["metrics"].number, f["data"].number, f["num_subs"].number) == (8, 9, 10)
    raw = ctl.encode("n", ctl.NodeInfo(uid="n", metrics={"x": 2.0}, metrics_interval=3.0))
    node = control_pb2.Node.FromString(control_pb2.Command.FromString(raw).params)
    assert (node.metrics.interval, dict(node.metrics.items)) == (3.0, {"x": 2.0})


def test_garbage_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        ctl.decode(b"\xff\xff\xff")


def test_channels_survey_payloads() -> None:
    assert ctl.decode_channels_request(ctl.encode_channels_request("chat:*")) == "chat:*"
    assert ctl.decode_channels_result(ctl.encode_channels_result({"a": 2, "b": 1})) == {
        "a": 2,
        "b": 1,
    }
