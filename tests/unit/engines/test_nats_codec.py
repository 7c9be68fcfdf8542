"""NATS broker payloads: the hand-written fast paths give what the generated classes give,
and the nats-py internals the broker hooks still exist."""

from __future__ import annotations

import inspect

import pytest
from centrifugal.centrifuge.protocol import client_pb2
from nats.aio.client import Client

from service.core.engine import ClientInfo, Publication, StreamPosition
from service.engines.nats.codec import (
    JOIN,
    LEAVE,
    PUBLICATION,
    decode_push,
    encode_join_push,
    encode_leave_push,
    encode_publication_push,
    push_header,
    subject_error,
)
from service.engines.nats.connection import DirectClient, backoff_delay

INFO = ClientInfo(user="u", client="c", conn_info=b'{"a":1}', chan_info=b"{}")
PUBS = [
    Publication(b""),
    Publication(b"{}"),
    Publication(b"x" * 125),
    Publication(b"x" * 126),
    Publication(b"x" * 200),
    Publication(b"y" * 20000),
    Publication(b'{"a":1}', info=INFO),
    Publication(b'{"a":1}', tags={"k": "v"}),
    Publication(b"\x22\x05hello"),
]


@pytest.mark.parametrize("channel", ["c", "chat:" + "x" * 200, "ns:ü"])
@pytest.mark.parametrize("pub", PUBS, ids=range(len(PUBS)))
def test_publication_push_round_trip(channel: str, pub: Publication) -> None:
    data = encode_publication_push(push_header(channel), pub)
    expected = client_pb2.Push(channel=channel)
    expected.pub.data = pub.data
    if pub.info is not None:
        expected.pub.info.user, expected.pub.info.client = pub.info.user, pub.info.client
        expected.pub.info.conn_info, expected.pub.info.chan_info = (
            pub.info.conn_info,
            pub.info.chan_info,
        )
    if pub.tags:
        expected.pub.tags.update(pub.tags)
    expected.pub.SetInParent()
    assert client_pb2.Push.FromString(data) == expected
    assert decode_push(data) == (PUBLICATION, pub, None)
    assert decode_push(expected.SerializeToString()) == (PUBLICATION, pub, None)


def test_join_leave_round_trip() -> None:
    join = encode_join_push(push_header("ch"), INFO)
    leave = encode_leave_push(push_header("ch"), INFO)
    assert client_pb2.Push.FromString(join).join.info.conn_info == b'{"a":1}'
    assert decode_push(join) == (JOIN, INFO, None)
    assert decode_push(leave) == (LEAVE, INFO, None)


def test_position_from_epoch_tag() -> None:
    push = client_pb2.Push(channel="c")
    push.pub.data = b"d"
    push.pub.offset = 5
    push.pub.tags["__centrifugo_epoch"] = "e1"
    push.pub.tags["x"] = "y"
    kind, pub, position = decode_push(push.SerializeToString())
    assert (kind, pub.offset, pub.tags, position) == (PUBLICATION, 5, {"x": "y"}, (5, "e1"))
    assert isinstance(position, StreamPosition)


@pytest.mark.parametrize("data", [b"\x12\x01c", b"\x12\x05c", b"\xff\xff", b"\x12\x01c\x22\x09ab"])
def test_bad_payloads_raise(data: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - DecodeError, ValueError or IndexError
        decode_push(data)


@pytest.mark.parametrize(
    "channel, ok",
    [
        ("news", True),
        ("chat:room#42,7", True),
        ("a.b.c", True),
        ("ns:ü", True),
        ("", False),
        ("a*", False),
        ("a>", False),
        ("a b", False),
        ("a\r\nPUB x 1", False),
        ("a\x00", False),
        ("a.", False),
        (".a", False),
        ("a..b", False),
    ],
)
def test_subject_error(channel: str, ok: bool) -> None:
    assert (subject_error(channel) == "") is ok


def test_backoff_grows_is_capped_and_never_zero() -> None:
    delays = [backoff_delay(n, 0.05, 2.0, lambda: 1.0) for n in range(12)]
    assert delays[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(delays) == 2.0 and delays[-1] == 2.0
    assert backoff_delay(0, 0.05, 2.0, lambda: 0.5) == 0.05
    assert backoff_delay(1000, 0.05, 2.0, lambda: 0.5) == 1.0


def test_nats_py_internals_the_broker_hooks() -> None:
    """A nats-py release that renames these breaks the broker's intake or its PING/PONG."""
    params = list(inspect.signature(Client._process_msg).parameters)
    assert params == ["self", "sid", "subject", "reply", "data", "headers"]
    for name in ("_send_ping", "_process_op_err", "_process_pong"):
        assert inspect.iscoroutinefunction(getattr(Client, name)), name
    client = DirectClient()
    assert isinstance(client._sid, int) and client._pongs == [] and "in_bytes" in client.stats
    assert hasattr(client, "_transport")
    connect = inspect.signature(Client.connect).parameters
    for option in ("reconnect_to_server_handler", "pending_size", "skip_subject_validation"):
        assert option in connect, option
