"""Conversions from engine data to wire Structs, and encode-once helpers for fan-out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec

from ..protocol import JSON, Codec, json_codec, pb_fast
from ..protocol import codes as c
from ..protocol import messages as m
from ..protocol.chunk import LINES, VARINT, Chunk, sse_event
from ..protocol.varint import frame_delimited
from .engine import ClientInfo, Publication, StreamPosition

# encoding variants of one broadcast message
JSON_REPLY, PB_REPLY, JSON_PUSH, PB_PUSH = range(4)
INVALID = b""  # marker: cannot be encoded for this variant (non-JSON payload for JSON)


def variant_of(codec: Codec, unidirectional: bool) -> int:
    """Index of the encoding a connection needs."""
    return (JSON_PUSH if unidirectional else JSON_REPLY) + (1 if codec.binary else 0)


def chunk_key(variant: int, framing: int) -> int:
    """Which chunk a connection of ``variant`` takes in ``framing`` (-1: no chunks)."""
    return variant * 4 + framing if framing else -1


def make_chunk(framing: int, messages: list[bytes]) -> Chunk:
    """``messages`` framed together in ``framing`` (``protocol.chunk``)."""
    if framing == LINES:
        return Chunk(b"\n".join(messages))
    if framing == VARINT:
        return Chunk(frame_delimited(messages))
    return Chunk(b"".join([sse_event(m) for m in messages]))


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


def wire_presence(presence: Mapping[str, ClientInfo]) -> m.PresenceResult:
    """The presence result (client command and server API alike)."""
    return m.PresenceResult(presence={cid: _wire_info(info) for cid, info in presence.items()})


def wire_history(pubs: Sequence[Publication], top: StreamPosition) -> m.HistoryResult:
    """The history result (client command and server API alike)."""
    return m.HistoryResult(
        publications=[wire_publication(p) for p in pubs], epoch=top.epoch, offset=top.offset
    )


def payload_json_ok(data: bytes) -> bool:
    """True when ``data`` may go into a JSON stream as embedded raw JSON (empty is absent)."""
    return not data or json_codec.is_valid_json(data)


def info_json_ok(info: ClientInfo | None) -> bool:
    """True when ``info``'s ``conn_info`` and ``chan_info`` may go into a JSON stream."""
    if info is None:
        return True
    return payload_json_ok(info.conn_info) and payload_json_ok(info.chan_info)


def publication_json_ok(pub: Publication) -> bool:
    """True when ``pub`` (data and info) may go into a JSON stream.

    Checked once per publication: the answer is kept in ``pub.json_ok`` (engines copy it
    along), so history reads and every JSON subscriber after the first cost an attribute read.
    """
    ok = pub.json_ok
    if ok is None:
        ok = pub.json_ok = payload_json_ok(pub.data) and info_json_ok(pub.info)
    return ok


def json_checked(pub: Publication) -> Publication:
    """``pub`` after its JSON check: called where a publication enters (``Node.publish``),
    so fan-out and history copies of the memory engine reuse the answer."""
    publication_json_ok(pub)
    return pub


def require_json(
    codec: Codec,
    *,
    pubs: Iterable[Publication] = (),
    infos: Iterable[ClientInfo] = (),
    payloads: Iterable[bytes] = (),
) -> None:
    """Raise disconnect 3506 when a JSON connection would get something that is not JSON.

    What a Protobuf client or the server API published as binary is never written raw into
    a JSON frame (history, recovery, presence, subscribe/connect data): Centrifugo closes a
    JSON connection with 3506 when a reply to it cannot be encoded, and so does Gyre.
    Protobuf connections take any bytes (nothing is checked for them).
    """
    if codec.binary:
        return
    if (
        all(map(publication_json_ok, pubs))
        and all(map(info_json_ok, infos))
        and all(map(payload_json_ok, payloads))
    ):
        return
    raise c.DisconnectError(c.DISCONNECT_INAPPROPRIATE_PROTOCOL)


class Encoded(msgspec.Struct, kw_only=True, gc=False):
    """Lazily encodes one Push in the (up to) four variants; each at most once.

    Subclasses say what the Push is: ``_make_push`` builds the wire Struct (for JSON),
    ``_json_ok`` says whether the payload can go to JSON clients (checked only if one needs
    it) and ``_pb_push`` builds the protobuf Push bytes directly (``pb_fast``), byte-identical
    to and cheaper than converting the Struct to a generated message.  One object is made per
    broadcast, so it is a msgspec Struct (C ``__init__``; never part of a reference cycle,
    hence ``gc=False``) and each variant's bytes have their own field.
    """

    pb_push: bytes | None = None
    pb_reply: bytes | None = None
    json_push: bytes | None = None
    json_reply: bytes | None = None
    wire: m.Push | None = None

    def _make_push(self) -> m.Push:
        raise NotImplementedError

    def _json_ok(self) -> bool:
        raise NotImplementedError

    def _pb_push(self) -> bytes:
        raise NotImplementedError

    @property
    def push(self) -> m.Push:
        if self.wire is None:
            self.wire = self._make_push()
        return self.wire

    def get(self, variant: int) -> bytes:
        """The Push in ``variant`` (``INVALID`` when a JSON variant cannot carry it)."""
        if variant == PB_PUSH:
            b = self.pb_push
            if b is None:
                b = self.pb_push = self._pb_push()
            return b
        if variant == PB_REPLY:
            b = self.pb_reply
            if b is None:
                b = self.pb_reply = pb_fast.reply_with_push(self.get(PB_PUSH))
            return b
        if variant == JSON_REPLY:
            b = self.json_reply
            if b is None:
                b = self.json_reply = self._json(True) if self._json_ok() else INVALID
            return b
        b = self.json_push
        if b is None:
            b = self.json_push = self._json(False) if self._json_ok() else INVALID
        return b

    def _json(self, reply: bool) -> bytes:
        """The JSON Push (``reply``: the Reply around it); called once JSON can carry it."""
        if reply:
            return json_codec.reply_with_push(self.get(JSON_PUSH))
        return JSON.encode_push(self.push)


def _wire_info(info: ClientInfo) -> m.ClientInfo:
    wi = wire_info(info)
    assert wi is not None
    return wi


def pb_info(info: ClientInfo) -> bytes:
    return pb_fast.client_info(info.user, info.client, info.conn_info, info.chan_info)


class _PublicationEncoded(Encoded, gc=False):
    channel: str
    pub: Publication

    def _make_push(self) -> m.Push:
        return m.Push(channel=self.channel, pub=wire_publication(self.pub))

    def _json_ok(self) -> bool:
        return publication_json_ok(self.pub)

    def _json(self, reply: bool) -> bytes:
        pub = self.pub
        if pub.info is None and not pub.tags and pub.data and self.channel:
            return json_codec.data_push(self.channel, pub.data, pub.offset, reply)
        return super()._json(reply)

    def _pb_push(self) -> bytes:
        # pb_fast, not the generated Push: 1.7 us vs 3.4 us per publication (bench/micro.py pb_push)
        pub = self.pub
        if pub.info is None and not pub.offset and not pub.tags:
            return pb_fast.data_push(self.channel, pub.data)
        info = pb_info(pub.info) if pub.info is not None else None
        body = pb_fast.publication(pub.data, info, pub.offset, pub.tags)
        return pb_fast.push(self.channel, pb_fast.PUB, body)


class _PresenceEncoded(Encoded, gc=False):
    """A join (``pb_fast.JOIN``) or leave (``pb_fast.LEAVE``) push."""

    channel: str
    info: ClientInfo
    kind: int

    def _make_push(self) -> m.Push:
        wi = _wire_info(self.info)
        if self.kind == pb_fast.JOIN:
            return m.Push(channel=self.channel, join=m.Join(info=wi))
        return m.Push(channel=self.channel, leave=m.Leave(info=wi))

    def _json_ok(self) -> bool:
        return info_json_ok(self.info)

    def _pb_push(self) -> bytes:
        return pb_fast.push(self.channel, self.kind, pb_fast.ld(0x0A, pb_info(self.info)))


encoded_publication: Callable[[str, Publication], Encoded] = _PublicationEncoded
"""``encoded_publication(channel, pub)``: the lazily encoded Push of one publication (the
class itself: one call less per broadcast)."""


def encoded_join(channel: str, info: ClientInfo) -> Encoded:
    return _PresenceEncoded(channel, info, pb_fast.JOIN)


def encoded_leave(channel: str, info: ClientInfo) -> Encoded:
    return _PresenceEncoded(channel, info, pb_fast.LEAVE)


class EncodedRun:
    """Publications of one channel broadcast together: ``encs`` encodes each once per
    variant, ``chunk`` joins them once per chunk key (``chunk_key``)."""

    __slots__ = ("_chunks", "encs")

    def __init__(self, channel: str, pubs: Sequence[Publication]) -> None:
        self.encs = [encoded_publication(channel, pub) for pub in pubs]
        self._chunks: dict[int, bytes] = {}

    def chunk(self, key: int) -> bytes:
        """The Chunk of every publication for ``key``; ``INVALID`` when one of them cannot be
        encoded in its variant (its subscribers then take them one by one)."""
        data = self._chunks.get(key)
        if data is None:
            variant, framing = divmod(key, 4)
            messages = [enc.get(variant) for enc in self.encs]
            data = make_chunk(framing, messages) if all(messages) else INVALID
            self._chunks[key] = data
        return data
