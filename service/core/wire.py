"""Conversions from engine data to wire Structs, and encode-once helpers for fan-out."""

from __future__ import annotations

from ..protocol import JSON, Codec, protobuf_codec
from ..protocol import messages as m
from ..protocol.json_codec import is_valid_json
from .engine import ClientInfo, Publication

# encoding variants of one broadcast message
JSON_REPLY, PB_REPLY, JSON_PUSH, PB_PUSH = range(4)
INVALID = b""  # marker: cannot be encoded for this variant (non-JSON payload for JSON)


def variant_of(codec: Codec, unidirectional: bool) -> int:
    """Index of the encoding a connection needs."""
    return (JSON_PUSH if unidirectional else JSON_REPLY) + (1 if codec.binary else 0)


def wire_info(info: ClientInfo | None) -> m.ClientInfo | None:
    if info is None:
        return None
    return m.ClientInfo(
        user=info.user,
        client=info.client,
        conn_info=m.raw(info.conn_info),
        chan_info=m.raw(info.chan_info),
    )


def wire_publication(pub: Publication) -> m.Publication:
    return m.Publication(
        data=m.raw(pub.data),
        info=wire_info(pub.info),
        offset=pub.offset,
        tags=pub.tags or {},
    )


def _info_is_json(info: ClientInfo | None) -> bool:
    if info is None:
        return True
    return (not info.conn_info or is_valid_json(info.conn_info)) and (
        not info.chan_info or is_valid_json(info.chan_info)
    )


class Encoded:
    """Lazily encodes one Push in the (up to) four variants; each at most once."""

    __slots__ = ("_cache", "_json_ok", "push")

    def __init__(self, push: m.Push, json_ok: bool) -> None:
        self.push = push
        self._json_ok = json_ok
        self._cache: list[bytes | None] = [None, None, None, None]

    def get(self, variant: int) -> bytes:
        b = self._cache[variant]
        if b is None:
            if variant == JSON_REPLY:
                b = JSON.encode_reply(m.Reply(push=self.push)) if self._json_ok else INVALID
            elif variant == JSON_PUSH:
                b = JSON.encode_push(self.push) if self._json_ok else INVALID
            elif variant == PB_REPLY:
                b = protobuf_codec().encode_reply(m.Reply(push=self.push))
            else:
                b = protobuf_codec().encode_push(self.push)
            self._cache[variant] = b
        return b


def encoded_publication(channel: str, pub: Publication) -> Encoded:
    json_ok = (not pub.data or is_valid_json(pub.data)) and _info_is_json(pub.info)
    return Encoded(m.Push(channel=channel, pub=wire_publication(pub)), json_ok)


def encoded_join(channel: str, info: ClientInfo) -> Encoded:
    wi = wire_info(info)
    assert wi is not None
    return Encoded(m.Push(channel=channel, join=m.Join(info=wi)), _info_is_json(info))


def encoded_leave(channel: str, info: ClientInfo) -> Encoded:
    wi = wire_info(info)
    assert wi is not None
    return Encoded(m.Push(channel=channel, leave=m.Leave(info=wi)), _info_is_json(info))
