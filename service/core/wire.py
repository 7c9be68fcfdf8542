"""Conversions from engine data to wire Structs, and encode-once helpers for fan-out."""

from __future__ import annotations

from collections.abc import Callable

from ..protocol import JSON, Codec, pb_fast, protobuf_codec
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
    """Lazily encodes one Push in the (up to) four variants; each at most once.

    ``make_push`` builds the wire Struct (for JSON, and the generic protobuf path);
    ``json_ok`` says whether the payload can go to JSON clients (checked only if one needs
    it); ``pb_push`` builds the protobuf Push bytes directly (``pb_fast``), byte-identical to
    and cheaper than converting the Struct to a generated message.
    """

    __slots__ = ("_cache", "_json_ok", "_make_push", "_pb_push", "_push")

    def __init__(
        self,
        make_push: Callable[[], m.Push],
        json_ok: Callable[[], bool],
        pb_push: Callable[[], bytes] | None = None,
    ) -> None:
        self._make_push = make_push
        self._json_ok = json_ok
        self._pb_push = pb_push
        self._push: m.Push | None = None
        self._cache: list[bytes | None] = [None, None, None, None]

    @property
    def push(self) -> m.Push:
        if self._push is None:
            self._push = self._make_push()
        return self._push

    def get(self, variant: int) -> bytes:
        b = self._cache[variant]
        if b is None:
            if variant == JSON_REPLY:
                b = JSON.encode_reply(m.Reply(push=self.push)) if self._json_ok() else INVALID
            elif variant == JSON_PUSH:
                b = JSON.encode_push(self.push) if self._json_ok() else INVALID
            elif variant == PB_REPLY:
                if self._pb_push is not None:
                    b = pb_fast.reply_with_push(self.get(PB_PUSH))
                else:
                    b = protobuf_codec().encode_reply(m.Reply(push=self.push))
            elif self._pb_push is not None:
                b = self._pb_push()
            else:
                b = protobuf_codec().encode_push(self.push)
            self._cache[variant] = b
        return b


def _wire_info(info: ClientInfo) -> m.ClientInfo:
    wi = wire_info(info)
    assert wi is not None
    return wi


def _pb_info(info: ClientInfo) -> bytes:
    return pb_fast.client_info(info.user, info.client, info.conn_info, info.chan_info)


def encoded_publication(channel: str, pub: Publication) -> Encoded:
    def json_ok() -> bool:
        return (not pub.data or is_valid_json(pub.data)) and _info_is_json(pub.info)

    def pb_push() -> bytes:
        info = _pb_info(pub.info) if pub.info is not None else None
        body = pb_fast.publication(pub.data, info, pub.offset, pub.tags)
        return pb_fast.push(channel, pb_fast.PUB, body)

    return Encoded(lambda: m.Push(channel=channel, pub=wire_publication(pub)), json_ok, pb_push)


def encoded_join(channel: str, info: ClientInfo) -> Encoded:
    return Encoded(
        lambda: m.Push(channel=channel, join=m.Join(info=_wire_info(info))),
        lambda: _info_is_json(info),
        lambda: pb_fast.push(channel, pb_fast.JOIN, pb_fast.ld(0x0A, _pb_info(info))),
    )


def encoded_leave(channel: str, info: ClientInfo) -> Encoded:
    return Encoded(
        lambda: m.Push(channel=channel, leave=m.Leave(info=_wire_info(info))),
        lambda: _info_is_json(info),
        lambda: pb_fast.push(channel, pb_fast.LEAVE, pb_fast.ld(0x0A, _pb_info(info))),
    )
