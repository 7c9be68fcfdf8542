"""Conversions from engine data to wire Structs, and encode-once helpers for fan-out."""

from __future__ import annotations

from collections.abc import Callable

from ..protocol import JSON, Codec, pb_fast
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

    Subclasses say what the Push is: ``_make_push`` builds the wire Struct (for JSON),
    ``_json_ok`` says whether the payload can go to JSON clients (checked only if one needs
    it) and ``_pb_push`` builds the protobuf Push bytes directly (``pb_fast``), byte-identical
    to and cheaper than converting the Struct to a generated message.  One object is made per
    broadcast, so the state lives in slots rather than closures.
    """

    __slots__ = ("_cache", "_push")

    def __init__(self) -> None:
        self._push: m.Push | None = None
        self._cache: list[bytes | None] = [None, None, None, None]

    def _make_push(self) -> m.Push:
        raise NotImplementedError

    def _json_ok(self) -> bool:
        raise NotImplementedError

    def _pb_push(self) -> bytes:
        raise NotImplementedError

    @property
    def push(self) -> m.Push:
        if self._push is None:
            self._push = self._make_push()
        return self._push

    def get(self, variant: int) -> bytes:
        b = self._cache[variant]
        if b is None:
            if variant == PB_REPLY:
                b = pb_fast.reply_with_push(self.get(PB_PUSH))
            elif variant == PB_PUSH:
                b = self._pb_push()
            elif not self._json_ok():
                b = INVALID
            elif variant == JSON_REPLY:
                b = JSON.encode_reply(m.Reply(push=self.push))
            else:
                b = JSON.encode_push(self.push)
            self._cache[variant] = b
        return b


def _wire_info(info: ClientInfo) -> m.ClientInfo:
    wi = wire_info(info)
    assert wi is not None
    return wi


def _pb_info(info: ClientInfo) -> bytes:
    return pb_fast.client_info(info.user, info.client, info.conn_info, info.chan_info)


class _PublicationEncoded(Encoded):
    __slots__ = ("_channel", "_pub")

    def __init__(self, channel: str, pub: Publication) -> None:
        self._push = None  # Encoded.__init__, inlined: one of these per broadcast
        self._cache = [None, None, None, None]
        self._channel = channel
        self._pub = pub

    def _make_push(self) -> m.Push:
        return m.Push(channel=self._channel, pub=wire_publication(self._pub))

    def _json_ok(self) -> bool:
        pub = self._pub
        return (not pub.data or is_valid_json(pub.data)) and _info_is_json(pub.info)

    def _pb_push(self) -> bytes:
        pub = self._pub
        info = _pb_info(pub.info) if pub.info is not None else None
        body = pb_fast.publication(pub.data, info, pub.offset, pub.tags)
        return pb_fast.push(self._channel, pb_fast.PUB, body)


class _PresenceEncoded(Encoded):
    """A join (``pb_fast.JOIN``) or leave (``pb_fast.LEAVE``) push."""

    __slots__ = ("_channel", "_info", "_kind")

    def __init__(self, channel: str, info: ClientInfo, kind: int) -> None:
        Encoded.__init__(self)
        self._channel = channel
        self._info = info
        self._kind = kind

    def _make_push(self) -> m.Push:
        wi = _wire_info(self._info)
        if self._kind == pb_fast.JOIN:
            return m.Push(channel=self._channel, join=m.Join(info=wi))
        return m.Push(channel=self._channel, leave=m.Leave(info=wi))

    def _json_ok(self) -> bool:
        return _info_is_json(self._info)

    def _pb_push(self) -> bytes:
        return pb_fast.push(self._channel, self._kind, pb_fast.ld(0x0A, _pb_info(self._info)))


encoded_publication: Callable[[str, Publication], Encoded] = _PublicationEncoded
"""``encoded_publication(channel, pub)``: the lazily encoded Push of one publication (the
class itself: one call less per broadcast)."""


def encoded_join(channel: str, info: ClientInfo) -> Encoded:
    return _PresenceEncoded(channel, info, pb_fast.JOIN)


def encoded_leave(channel: str, info: ClientInfo) -> Encoded:
    return _PresenceEncoded(channel, info, pb_fast.LEAVE)
