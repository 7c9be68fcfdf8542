"""Unsigned varint framing used by the protobuf encoding (docs/protocol.md#framing)."""

from __future__ import annotations

from .chunk import Chunk
from .errors import ProtocolError, whole


def encode_varint(value: int) -> bytes:
    """Return ``value`` as an unsigned LEB128 varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; return ``(value, new_pos)``.

    Raises ProtocolError on truncation or a varint longer than 10 bytes.
    """
    result = 0
    shift = 0
    n = len(data)
    while True:
        if pos >= n:
            raise ProtocolError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtocolError("varint too long")


def split_delimited_prefix(data: bytes) -> tuple[list[bytes], ProtocolError | None]:
    """Split varint-length-delimited messages as far as they go.

    Returns the complete messages before the first bad length prefix or incomplete message,
    and that error (None when the whole of ``data`` was split).
    """
    out: list[bytes] = []
    pos = 0
    n = len(data)
    view = memoryview(data)
    while pos < n:
        try:
            length, pos = decode_varint(view, pos)
        except ProtocolError as e:
            return out, e
        end = pos + length
        if end > n:
            return out, ProtocolError("truncated message")
        out.append(bytes(view[pos:end]))
        pos = end
    return out, None


def split_delimited(data: bytes) -> list[bytes]:
    """Split varint-length-delimited messages; an incomplete trailing message is an error."""
    return whole(split_delimited_prefix(data))


def frame_delimited(messages: list[bytes]) -> bytes:
    """Join messages, each prefixed with its varint length; a ``Chunk`` is already framed."""
    if len(messages) == 1 and type(messages[0]) is Chunk:
        return messages[0]
    parts: list[bytes] = []
    for m in messages:
        if type(m) is not Chunk:
            parts.append(encode_varint(len(m)))
        parts.append(m)
    return b"".join(parts)
