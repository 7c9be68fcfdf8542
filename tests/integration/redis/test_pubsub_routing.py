"""PUB/SUB read loop of ``RespConnection``: ``message`` replies go straight to ``on_message``,
every other reply to the push handler, a failing handler loses nothing else, and a closed
connection delivers nothing more."""

from __future__ import annotations

from typing import Any

from service.engines.redis.connection import RespConnection


def _msg(channel: bytes, payload: bytes) -> bytes:
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(channel),
        channel,
        len(payload),
        payload,
    )


async def test_messages_and_other_replies_are_routed_apart() -> None:
    conn = RespConnection(name="t", io_timeout=1.0)
    other: list[Any] = []
    got: list[tuple[bytes, bytes]] = []
    conn.set_push_handler(other.append, lambda ch, p: got.append((ch, p)))
    frame = b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n" + _msg(b"a", b"hi") + b"+PONG\r\n"
    half = len(frame) // 2  # a reply split over two reads
    conn.data_received(frame[:half])
    conn.data_received(frame[half:] + _msg(b"b", b"\r\nbinary\x00"))
    assert got == [(b"a", b"hi"), (b"b", b"\r\nbinary\x00")]
    assert other == [[b"subscribe", b"a", 1], b"PONG"]


async def test_a_failing_handler_does_not_lose_the_rest_of_the_read() -> None:
    conn = RespConnection(name="t", io_timeout=1.0)
    got: list[bytes] = []

    def on_message(channel: bytes, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        got.append(payload)

    conn.set_push_handler(lambda reply: None, on_message)
    conn.data_received(_msg(b"a", b"1") + _msg(b"a", b"boom") + _msg(b"a", b"2"))
    assert got == [b"1", b"2"]
    assert not conn.is_closed


async def test_nothing_is_delivered_after_close() -> None:
    conn = RespConnection(name="t", io_timeout=1.0)
    got: list[bytes] = []
    conn.set_push_handler(lambda reply: None, lambda ch, p: got.append(p))
    conn.data_received(_msg(b"a", b"1"))
    conn.close()
    conn.data_received(_msg(b"a", b"2"))
    assert got == [b"1"]
