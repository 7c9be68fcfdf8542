"""The hand-written protobuf fan-out encoding equals the generated classes' bytes."""

from __future__ import annotations

import itertools

import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.core.engine import ClientInfo, Publication
from service.core.wire import PB_PUSH, PB_REPLY, encoded_join, encoded_leave, encoded_publication
from service.protocol import messages as m
from service.protocol import pb_fast, protobuf_codec

PB = protobuf_codec()

DATAS = [b"", b"{}", b'{"text":"' + "é".encode() * 100 + b'"}', b"\x00\xffbinary" * 40]
INFOS = [
    None,
    ClientInfo(user="", client="c1"),
    ClientInfo(user="42", client="abc", conn_info=b'{"n":1}', chan_info=b"\x01" * 200),
]
OFFSETS = [0, 1, 127, 128, 2**40]
TAGS = [None, {}, {"k": "v"}, {"a": "", "": "b"}, {"z": "1", "b": "2", "m": "3"}]


@pytest.mark.parametrize(
    "data,info,offset,tags", list(itertools.product(DATAS, INFOS, OFFSETS, TAGS))
)
def test_publication_push_bytes_identical(
    data: bytes, info: ClientInfo | None, offset: int, tags: dict[str, str] | None
) -> None:
    pub = Publication(data=data, info=info, offset=offset, tags=tags)
    enc = encoded_publication("chat:é" if offset % 2 else "ch", pub)
    # reference: the generic Struct -> generated-message path (map entry order is not fixed
    # by protobuf, so several tags are compared decoded)
    if tags is not None and len(tags) > 1:
        assert client_pb2.Push.FromString(enc.get(PB_PUSH)) == client_pb2.Push.FromString(
            PB.encode_push(enc.push)
        )
    else:
        assert enc.get(PB_PUSH) == PB.encode_push(enc.push)
        assert enc.get(PB_REPLY) == PB.encode_reply(m.Reply(push=enc.push))
    parsed = client_pb2.Reply.FromString(enc.get(PB_REPLY))
    assert parsed.push.pub.data == data and parsed.push.pub.offset == offset


@pytest.mark.parametrize("info", [i for i in INFOS if i is not None])
def test_join_leave_bytes_identical(info: ClientInfo) -> None:
    for enc in (encoded_join("ch", info), encoded_leave("ch", info)):
        assert enc.get(PB_PUSH) == PB.encode_push(enc.push)
        assert enc.get(PB_REPLY) == PB.encode_reply(m.Reply(push=enc.push))


def test_channel_field_cache_stays_exact_past_its_bound() -> None:
    """Push.channel bytes are remembered per channel (bounded): long channels (two-byte
    length) and more channels than the cache holds still encode exactly."""
    pub = Publication(data=b"{}")
    channels = ["c" * 200, "ns:" + "é" * 70] + [f"room:{i}" for i in range(5000)]
    for ch in channels + channels[:3]:
        enc = encoded_publication(ch, pub)
        assert enc.get(PB_PUSH) == PB.encode_push(enc.push)
        assert client_pb2.Push.FromString(enc.get(PB_PUSH)).channel == ch
        assert len(pb_fast._CHANNEL_FIELDS) <= pb_fast._CHANNEL_FIELDS_MAX  # bounded


def test_length_delimited_field_for_every_one_byte_key() -> None:
    from service.protocol.pb_fast import ld
    from service.protocol.varint import encode_varint

    for tag in range(0x0A, 0x80, 8):  # wire type 2, fields 1-15
        for n in (0, 1, 127, 128, 300, 70000):
            payload = b"p" * n
            assert ld(tag, payload) == bytes((tag,)) + encode_varint(n) + payload


@pytest.mark.parametrize("n", [0, 1, 2, 100, 123, 124, 125, 126, 127, 128, 129, 300, 20000])
@pytest.mark.parametrize("channel", ["ch", "c" * 130])
def test_data_only_push_equals_generated(channel: str, n: int) -> None:
    """``data_push`` (the data-only shortcut, one concatenation while both lengths take one
    byte) equals the generated classes' bytes on both sides of every length boundary."""
    from service.protocol.pb_fast import data_push

    data = bytes(range(256))[:n] if n <= 256 else b"d" * n
    expected = client_pb2.Push(channel=channel, pub=client_pb2.Publication(data=data))
    assert data_push(channel, data) == expected.SerializeToString()
    enc = encoded_publication(channel, Publication(data=data))
    assert enc.get(PB_PUSH) == expected.SerializeToString()
    assert enc.get(PB_REPLY) == client_pb2.Reply(push=expected).SerializeToString()
