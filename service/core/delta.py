"""Delta delivery (docs/beyond_v4.md#delta-compression): the per-channel state the hub keeps for
delta subscribers, and the frames of one publication for them, each built at most once.

A delta subscription gets publication ``n`` as a fossil delta only when the last publication
it was sent with data is ``n - 1`` of the same epoch, ``n`` is marked for delta, and the node
still has the data of ``n - 1`` (``DeltaChannel``: the newest publication broadcast in a
channel with delta subscribers).  Otherwise it gets ``n`` full.  Either way, the frame is
shared by every delta subscriber of the channel: the delta is computed once per publication.

JSON protocol: ``data`` is a JSON string for every publication of a delta subscription (full
payload text or delta bytes).  Protobuf: raw bytes; a full publication is byte-identical to
the plain one.
"""

from __future__ import annotations

import msgspec
from msgspec import Raw

from ..protocol import JSON, fossil, pb_fast
from ..protocol import messages as m
from .engine import Publication, StreamPosition
from .wire import INVALID, JSON_REPLY, PB_REPLY, Encoded, pb_info, publication_json_ok, wire_info

__all__ = ["DeltaChannel", "DeltaFrames", "json_string", "recovered_publications"]

_encode_json = msgspec.json.encode


def json_string(data: bytes) -> Raw:
    """``data`` (UTF-8) as a JSON string literal, for a ``bytes`` field of a JSON frame.

    Raises ``UnicodeDecodeError`` when ``data`` is not UTF-8."""
    return Raw(_encode_json(data.decode()))


class DeltaChannel:
    """A channel's delta state on this node: how many delta subscribers it has, and the
    offset, epoch and data of the newest publication broadcast in it (the next one's base)."""

    __slots__ = ("data", "epoch", "offset", "subscribers")

    def __init__(self) -> None:
        self.subscribers = 0
        self.offset = 0
        self.epoch = ""
        self.data = b""

    def base_of(self, pub: Publication, position: StreamPosition | None) -> bytes | None:
        """The data of the publication before ``pub`` when this node broadcast it last."""
        if position is None or self.offset != pub.offset - 1 or self.epoch != position.epoch:
            return None
        return self.data

    def saw(self, pub: Publication, position: StreamPosition | None) -> None:
        """``pub`` was broadcast (or recovered): it is the newest one known."""
        if position is not None and pub.offset:
            if position.epoch != self.epoch or pub.offset > self.offset:
                self.offset, self.epoch, self.data = pub.offset, position.epoch, pub.data


class DeltaFrames:
    """Frames of one publication for delta subscribers (bidirectional ones only: delta is
    never negotiated over a unidirectional transport).  ``full`` and ``delta`` take the
    subscriber's variant (``JSON_REPLY`` or ``PB_REPLY``)."""

    __slots__ = (
        "_delta",
        "_json_delta",
        "_json_full",
        "_pb_delta",
        "base",
        "channel",
        "enc",
        "pub",
    )

    def __init__(self, channel: str, pub: Publication, enc: Encoded, base: bytes | None) -> None:
        self.channel = channel
        self.pub = pub
        self.enc = enc  # the plain frames of the same publication
        self.base = base if pub.delta else None
        self._delta: bytes | None = b"" if self.base is None else None  # b"": none
        self._json_full: bytes | None = None
        self._json_delta: bytes | None = None
        self._pb_delta: bytes | None = None

    def full(self, variant: int) -> bytes:
        """The whole payload (``INVALID`` when a JSON subscriber cannot get it)."""
        if variant != JSON_REPLY:
            return self.enc.get(variant)
        frame = self._json_full
        if frame is None:
            if not publication_json_ok(self.pub):  # not JSON: no JSON client gets it
                frame = INVALID
            else:
                frame = _json_frame(self.channel, self.pub, json_string(self.pub.data), False)
            self._json_full = frame
        return frame

    def delta(self, variant: int) -> bytes | None:
        """The delta frame against the base, or None when there is none worth sending (no
        base, not marked, not shorter than the payload; for JSON: the publication is not
        JSON, then ``full`` says so, or the delta is not UTF-8)."""
        raw = self._delta_bytes()
        if not raw:
            return None
        if variant == PB_REPLY:
            frame = self._pb_delta
            if frame is None:
                pub = self.pub
                info = pb_info(pub.info) if pub.info is not None else None
                body = pb_fast.publication(raw, info, pub.offset, pub.tags, True)
                frame = self._pb_delta = pb_fast.reply_with_push(
                    pb_fast.push(self.channel, pb_fast.PUB, body)
                )
            return frame
        frame = self._json_delta
        if frame is None:
            if not publication_json_ok(self.pub):  # the SDK would JSON.parse the result
                frame = INVALID
            else:
                try:
                    data = json_string(raw)
                except UnicodeDecodeError:  # never from our encoder on UTF-8 payloads
                    frame = INVALID
                else:
                    frame = _json_frame(self.channel, self.pub, data, True)
            self._json_delta = frame
        return None if frame is INVALID else frame

    def _delta_bytes(self) -> bytes:
        raw = self._delta
        if raw is None:
            base, data = self.base, self.pub.data
            assert base is not None
            raw = self._delta = fossil.create(base, data, len(data) - 1) or b""
        return raw


def _json_frame(channel: str, pub: Publication, data: Raw, delta: bool) -> bytes:
    wire = m.Publication(
        data=data, info=wire_info(pub.info), offset=pub.offset, tags=pub.tags or {}, delta=delta
    )
    return JSON.encode_reply(m.Reply(push=m.Push(channel=channel, pub=wire)))


def recovered_publications(pubs: list[Publication], *, binary: bool) -> list[m.Publication]:
    """Recovered publications for a delta subscription's subscribe result: the first full,
    each next one a delta against the one before it when that is shorter (and UTF-8 for
    JSON), else full; JSON data as strings."""
    out: list[m.Publication] = []
    prev: bytes | None = None
    for pub in pubs:
        data, delta = pub.data, False
        if prev is not None and pub.delta:
            raw = fossil.create(prev, data, len(data) - 1)
            if raw is not None and (binary or _utf8(raw)):
                data, delta = raw, True
        prev = pub.data
        out.append(
            m.Publication(
                data=m.raw(data) if binary else _json_data(data),
                info=wire_info(pub.info),
                offset=pub.offset,
                tags=pub.tags or {},
                delta=delta,
            )
        )
    return out


def _json_data(data: bytes) -> Raw:
    try:
        return json_string(data)
    except UnicodeDecodeError:  # not a JSON payload: as v4 would embed it
        return m.raw(data)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True
