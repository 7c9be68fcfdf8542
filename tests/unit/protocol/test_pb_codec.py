"""Protobuf codec: varint framing, golden bytes, empty results present, unknown fields."""

from __future__ import annotations

import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.protocol import ProtocolError, protobuf_codec
from service.protocol import messages as m
from service.protocol.varint import decode_varint, encode_varint

PB = protobuf_codec()


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16384, 2**32, 2**63])
def test_varint_roundtrip(value: int) -> None:
    data = encode_varint(value)
    assert decode_varint(data, 0) == (value, len(data))


def test_ping_is_single_zero_byte() -> None:
    assert PB.join_frames([PB.encode_reply(m.Reply())]) == b"\x00"


def test_empty_result_is_present_on_the_wire() -> None:
    data = PB.encode_reply(m.Reply(id=4, publish=m.PublishResult()))
    assert data == b"\x08\x04\x42\x00"  # id=4, field 8 (publish) with length 0
    parsed = client_pb2.Reply.FromString(data)
    assert parsed.HasField("publish")


def test_decode_frame_of_two_commands_and_pong() -> None:
    c1 = client_pb2.Command(id=1)
    c1.connect.token = "tok"
    c1.connect.data = b"\x01\x02"
    c2 = client_pb2.Command(id=2)
    c2.subscribe.channel = "news"
    c2.subscribe.recover = True
    c2.subscribe.offset = 7
    frame = b""
    for c in (c1, c2):
        raw = c.SerializeToString()
        frame += encode_varint(len(raw)) + raw
    frame += b"\x00"  # empty command = pong
    cmds = PB.decode_commands(frame)
    assert cmds[0].connect is not None and cmds[0].connect.token == "tok"
    assert bytes(cmds[0].connect.data) == b"\x01\x02"
    assert cmds[1].subscribe is not None
    assert (cmds[1].subscribe.channel, cmds[1].subscribe.recover, cmds[1].subscribe.offset) == (
        "news",
        True,
        7,
    )
    assert cmds[2] == m.Command()


def test_unknown_fields_ignored() -> None:
    c = client_pb2.Command(id=3)
    c.subscribe.channel = "x"
    raw = c.SerializeToString() + b"\xf0\x01\x01"  # field 30 varint: unknown to v4
    (cmd,) = PB.decode_commands(encode_varint(len(raw)) + raw)
    assert cmd.subscribe is not None and cmd.subscribe.channel == "x"


@pytest.mark.parametrize("frame", [b"", b"\x05\x01", b"\x02\xff\xff", b"\xff" * 11])
def test_malformed_frames(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        PB.decode_commands(frame)


def test_publication_push_roundtrip() -> None:
    push = m.Push(
        channel="news",
        pub=m.Publication(
            data=m.raw(b"\x00binary"),
            info=m.ClientInfo(user="u", client="c"),
            offset=9,
            tags={"a": "b"},
        ),
    )
    data = PB.encode_reply(m.Reply(push=push))
    parsed = client_pb2.Reply.FromString(data)
    assert parsed.push.channel == "news"
    assert parsed.push.pub.data == b"\x00binary"
    assert parsed.push.pub.offset == 9
    assert parsed.push.pub.info.user == "u"
    assert dict(parsed.push.pub.tags) == {"a": "b"}
    assert parsed.push.type == 0  # field 1 (v1 type / newer SDKs' id) never set
    assert not parsed.push.HasField("join")


def test_connect_result_subs_map() -> None:
    res = m.ConnectResult(
        client="c", version="1", subs={"ch": m.SubscribeResult(recoverable=True, offset=3)}
    )
    parsed = client_pb2.Reply.FromString(PB.encode_reply(m.Reply(id=1, connect=res)))
    assert parsed.connect.subs["ch"].offset == 3
    assert parsed.connect.subs["ch"].recoverable


def test_decode_prefix_keeps_the_commands_before_a_truncated_one() -> None:
    ok = client_pb2.Command(id=1)
    ok.ping.SetInParent()
    raw = ok.SerializeToString()
    cmds, err = PB.decode_command_prefix(encode_varint(len(raw)) + raw + b"\x05\x08")
    assert [c.id for c in cmds] == [1] and err is not None
    cmds, err = PB.decode_command_prefix(encode_varint(len(raw)) + raw + b"\xff" * 11)
    assert [c.id for c in cmds] == [1] and err is not None  # varint too long
