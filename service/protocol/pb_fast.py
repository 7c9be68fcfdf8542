"""Hand-written protobuf encoding of the fan-out pushes (publication, join, leave).

Byte-identical to serializing the generated ``Push`` / ``Reply`` classes (fields in number
order, proto3 zero values omitted), without building protobuf objects: this runs once per
publication for every protobuf subscriber group, so it is on the hot path.
Field numbers (client.proto): Reply.push=4; Push.channel=2, pub=4, join=5, leave=6;
Publication.data=4, info=5, offset=6, tags=7, delta=8 (docs/beyond_v4.md); ClientInfo.user=1,
client=2, conn_info=3, chan_info=4; Join/Leave.info=1; map entries key=1, value=2.
"""

from __future__ import annotations

from .varint import encode_varint

_HEADS: list[list[bytes] | None] = [
    [bytes((tag, n)) for n in range(0x80)] if tag & 7 == 2 and tag < 0x80 else None
    for tag in range(0x100)
]
"""``_HEADS[tag][n]``: key byte + one-byte length, prebuilt for the length-delimited keys of
fields 1-15 (2,048 small objects; no tuple and no ``bytes()`` call per field)."""


def ld(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (``tag`` is the full key byte)."""
    n = len(payload)
    heads = _HEADS[tag]
    if n < 0x80 and heads is not None:  # one-byte length: channels and small payloads
        return heads[n] + payload
    return bytes((tag,)) + encode_varint(n) + payload


def string(tag: int, value: str) -> bytes:
    """A string field, omitted when empty (proto3)."""
    return ld(tag, value.encode()) if value else b""


def uint(tag: int, value: int) -> bytes:
    """A varint field (``tag`` is the full key byte), omitted when zero (proto3)."""
    return bytes((tag,)) + encode_varint(value) if value else b""


def client_info(user: str, client: str, conn_info: bytes, chan_info: bytes) -> bytes:
    out = string(0x0A, user) + string(0x12, client)
    if conn_info:
        out += ld(0x1A, conn_info)
    if chan_info:
        out += ld(0x22, chan_info)
    return out


def publication(
    data: bytes,
    info: bytes | None,
    offset: int,
    tags: dict[str, str] | None,
    delta: bool = False,
) -> bytes:
    """Publication bytes; ``info`` is already-encoded ClientInfo (None = absent)."""
    out = ld(0x22, data) if data else b""
    if info is not None:
        out += ld(0x2A, info)
    out += uint(0x30, offset)
    if tags:
        # map entries always carry key and value (as upb writes them); entry order is free
        for k, v in tags.items():
            out += ld(0x3A, ld(0x0A, k.encode()) + ld(0x12, v.encode()))
    if delta:
        out += b"\x40\x01"
    return out


_CHANNEL_FIELDS: dict[str, bytes] = {}
_CHANNEL_FIELDS_MAX = 4096


def _channel_field(channel: str) -> bytes:
    """``Push.channel`` (field 2) bytes, remembered for up to 4096 recent channels."""
    out = _CHANNEL_FIELDS.get(channel)
    if out is None:
        if len(_CHANNEL_FIELDS) >= _CHANNEL_FIELDS_MAX:
            _CHANNEL_FIELDS.clear()
        out = _CHANNEL_FIELDS[channel] = string(0x12, channel)
    return out


def push(channel: str, field_tag: int, body: bytes) -> bytes:
    """Push{channel, <field>: body}; ``field_tag`` 0x22 pub, 0x2A join, 0x32 leave."""
    return _channel_field(channel) + ld(field_tag, body)


def data_push(channel: str, data: bytes) -> bytes:
    """``push(channel, PUB, publication(data, None, 0, None))``: the Push of a publication
    carrying data only (no info, offset or tags), with a single concatenation when both
    lengths fit one byte."""
    n = len(data)
    if 0 < n < 0x7E:  # Publication.data and Push.pub lengths are both < 0x80
        heads = _PUB_HEADS
        return _channel_field(channel) + heads[n + 2] + heads[n] + data
    return push(channel, PUB, publication(data, None, 0, None))


def reply_with_push(push_bytes: bytes) -> bytes:
    """Reply{push} around encoded Push bytes."""
    return ld(0x22, push_bytes)


PUB, JOIN, LEAVE = 0x22, 0x2A, 0x32
_PUB_HEADS: list[bytes] = _HEADS[PUB]  # type: ignore[assignment]  # 0x22 is length-delimited
"""Heads of key 0x22, which is both ``Push.pub`` and ``Publication.data``."""
