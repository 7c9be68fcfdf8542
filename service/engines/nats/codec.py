"""NATS subjects and payloads of the NATS broker, byte-compatible with Centrifugo v4's
``broker: nats`` (see docs/nats.md).

Subjects, for prefix ``P`` (``nats_prefix``, default ``centrifugo``):

* ``P.client.<channel>``: publications, joins and leaves of a channel;
* ``P.control``: control messages for every node; ``P.node.<node ID>``: for one node.

Every ``P.client.<channel>`` payload is one client-protocol protobuf ``Push`` with ``channel``
and exactly one of ``pub`` (``Publication``: data, info, tags), ``join`` or ``leave``
(``ClientInfo``).  Control payloads are the Centrifuge ``controlpb`` bytes as they are.
"""

from __future__ import annotations

from typing import Any

from centrifugal.centrifuge.protocol import client_pb2  # generated/, on sys.path via service

from service.core.engine import ClientInfo, Publication, StreamPosition
from service.protocol.varint import decode_varint, encode_varint

from ..wire import encode_info, encode_publication, info_from_pb, publication_from_pb

_PB_PUSH: Any = client_pb2.Push

PUBLICATION, JOIN, LEAVE = 0, 1, 2

# Centrifugo v4 attaches a stream position to a NATS publication as ``offset`` plus this tag
# (its experimental PublishWithStreamPosition); received ones keep their position.
EPOCH_TAG = "__centrifugo_epoch"

_FORBIDDEN = frozenset("*>")


def subject_error(channel: str) -> str:
    """Why ``channel`` cannot be carried in a NATS subject ("" when it can).

    Centrifugo v4 refuses channels containing ``*`` or ``>`` (NATS wildcards).  Gyre also
    refuses what NATS cannot carry at all: whitespace and control characters (they would
    split the protocol line) and empty subject tokens (a leading, trailing or doubled ``.``).
    """
    if not channel:
        return "empty channel"
    for ch in channel:
        if ch in _FORBIDDEN:
            return f"channel {channel!r} contains the NATS wildcard {ch!r}"
        if ch <= " " or ch == "\x7f":
            return f"channel {channel!r} contains whitespace or a control character"
    if channel.startswith(".") or channel.endswith(".") or ".." in channel:
        return f"channel {channel!r} has an empty NATS subject token"
    return ""


class Subjects:
    """Subject names for prefix ``P``."""

    __slots__ = ("client_prefix", "control", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.client_prefix = f"{prefix}.client."
        self.control = f"{prefix}.control"

    def client(self, channel: str) -> str:
        """``P.client.<channel>``."""
        return self.client_prefix + channel

    def node(self, node_id: str) -> str:
        """``P.node.<node ID>``."""
        return f"{self.prefix}.node.{node_id}"


def push_header(channel: str) -> bytes:
    """The ``Push.channel`` field (number 2) that starts every payload of ``channel``."""
    raw = channel.encode()
    return b"\x12" + encode_varint(len(raw)) + raw


def _field(tag: bytes, body: bytes) -> bytes:
    return tag + encode_varint(len(body)) + body


def encode_publication_push(header: bytes, pub: Publication) -> bytes:
    """``Push{channel, pub}``; ``header`` is ``push_header(channel)``."""
    return header + _field(b"\x22", encode_publication(pub))


def encode_join_push(header: bytes, info: ClientInfo) -> bytes:
    """``Push{channel, join{info}}``."""
    return header + _field(b"\x2a", _field(b"\x0a", encode_info(info)))


def encode_leave_push(header: bytes, info: ClientInfo) -> bytes:
    """``Push{channel, leave{info}}``."""
    return header + _field(b"\x32", _field(b"\x0a", encode_info(info)))


def decode_push(data: bytes) -> tuple[int, Any, StreamPosition | None]:
    """``(PUBLICATION, Publication, position | None)``, ``(JOIN, ClientInfo, None)`` or
    ``(LEAVE, ClientInfo, None)`` from a ``P.client.<channel>`` payload.

    The channel inside the ``Push`` is not returned: the caller knows which subscription the
    message came from.  Raises ``ValueError`` (or protobuf's ``DecodeError``) on bytes that
    are not such a ``Push``.  Runs once per received message: a data-only publication (what
    the server API publishes) is sliced out of the bytes without building protobuf objects.
    """
    n = len(data)
    p = 0
    if n and data[0] == 0x12:  # the channel field: skipped
        size, p = _varint(data, 1)
        p += size
    if p < n and data[p] == 0x22:  # pub ...
        size, q = _varint(data, p + 1)
        if q + size == n and q < n and data[q] == 0x22:  # ... holding only ``data``
            size, r = _varint(data, q + 1)
            if r + size == n:
                return PUBLICATION, Publication(data[r:], None, 0, None), None
    return _decode_generic(data)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """(value, next index) of the varint at ``i``; one-byte values inline."""
    b = data[i]
    if b < 0x80:
        return b, i + 1
    return decode_varint(data, i)


def _decode_generic(data: bytes) -> tuple[int, Any, StreamPosition | None]:
    push = _PB_PUSH.FromString(data)
    if push.HasField("pub"):
        pb = push.pub
        pub = publication_from_pb(pb, pb.offset)
        position = None
        if pub.tags and EPOCH_TAG in pub.tags:
            epoch = pub.tags.pop(EPOCH_TAG)
            if pb.offset > 0:
                position = StreamPosition(pb.offset, epoch)
            if not pub.tags:
                pub.tags = None
        return PUBLICATION, pub, position
    if push.HasField("join"):
        return JOIN, info_from_pb(push.join.info), None
    if push.HasField("leave"):
        return LEAVE, info_from_pb(push.leave.info), None
    raise ValueError("push without pub, join or leave")
