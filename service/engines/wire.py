"""Protobuf ``Publication`` and ``ClientInfo`` (client protocol messages) as engines carry them
between nodes: the Redis engine inside its PUB/SUB payloads and streams, the NATS broker inside
a ``Push``.  Byte-compatible with Centrifugo v4 nodes (``centrifugal/centrifuge`` protocol).
"""

from __future__ import annotations

from typing import Any

from centrifugal.centrifuge.protocol import client_pb2  # generated/, on sys.path via service

from service.core.engine import ClientInfo, Publication
from service.protocol.varint import encode_varint

_PB_PUBLICATION: Any = client_pb2.Publication
_PB_CLIENT_INFO: Any = client_pb2.ClientInfo


def _info_pb(info: ClientInfo) -> Any:
    return _PB_CLIENT_INFO(
        user=info.user, client=info.client, conn_info=info.conn_info, chan_info=info.chan_info
    )


def encode_info(info: ClientInfo) -> bytes:
    """Protobuf ``ClientInfo`` bytes."""
    data: bytes = _info_pb(info).SerializeToString()
    return data


def info_from_pb(pb: Any) -> ClientInfo:
    """``ClientInfo`` from a generated protobuf ``ClientInfo`` message."""
    return ClientInfo(
        user=pb.user, client=pb.client, conn_info=pb.conn_info, chan_info=pb.chan_info
    )


def decode_info(data: bytes) -> ClientInfo:
    """Parse protobuf ``ClientInfo`` bytes (raises ``google.protobuf`` ``DecodeError``)."""
    return info_from_pb(_PB_CLIENT_INFO.FromString(data))


_DELTA_FIELD = b"\x40\x01"  # Publication.delta = true (field 8, varint)


def encode_publication(pub: Publication) -> bytes:
    """Protobuf ``Publication`` without offset (``data``, ``info``, ``tags``, ``delta``).

    A data-only publication (what the server API publishes) is framed by hand: the same
    bytes as the generated class gives, without building a message object per publish.
    ``delta`` (the mark for delta delivery) is field 8, which v4 nodes skip as unknown.
    """
    if pub.info is None and not pub.tags:
        raw = pub.data
        out = b"\x22" + encode_varint(len(raw)) + raw if raw else b""
        return out + _DELTA_FIELD if pub.delta else out
    pb = _PB_PUBLICATION(data=pub.data, delta=pub.delta)
    if pub.info is not None:
        pb.info.CopyFrom(_info_pb(pub.info))
    if pub.tags:
        pb.tags.update(pub.tags)
    data: bytes = pb.SerializeToString()
    return data


def decode_publication(data: bytes, offset: int = 0) -> Publication:
    """Parse protobuf ``Publication`` bytes; ``offset`` comes from the prefix or entry ID."""
    return publication_at(data, 0, offset)


def publication_at(data: bytes, p: int, offset: int) -> Publication:
    """The protobuf ``Publication`` in ``data[p:]``.

    Fast path for the most common shape (server API publications): the bytes are exactly
    one ``data`` field (tag 0x22) with a 1- or 2-byte length, sliced straight out of the
    message.  Anything else goes through the generated class.
    """
    n = len(data)
    if n - p >= 2 and data[p] == 0x22:
        b1 = data[p + 1]
        if b1 < 0x80:
            if p + 2 + b1 == n:
                return Publication(data[p + 2 :], None, offset, None)
        elif n - p >= 3 and data[p + 2] < 0x80:
            if p + 3 + ((b1 & 0x7F) | (data[p + 2] << 7)) == n:
                return Publication(data[p + 3 :], None, offset, None)
    return publication_from_pb(_PB_PUBLICATION.FromString(data[p:] if p else data), offset)


def publication_from_pb(pb: Any, offset: int) -> Publication:
    """``Publication`` from a generated protobuf ``Publication`` (its own offset ignored)."""
    # positional arguments: this runs once per received message
    return Publication(
        pb.data,
        info_from_pb(pb.info) if pb.HasField("info") else None,
        offset,
        dict(pb.tags) if pb.tags else None,
        delta=pb.delta,
    )
