"""Local registry of connections and channel subscribers, and the fan-out loop.

A broadcast encodes its message once per wire variant (``wire.Encoded``) and appends the same
bytes to every subscriber's writer; no Task or Queue per subscriber.  Subscriptions with a tags
filter or negotiated delta (``ChannelSub.special``, docs/beyond_v4.md) are kept apart, so the
plain loop pays nothing for them: each distinct filter is evaluated once per publication and
each delta computed once per publication (``delta.DeltaFrames``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from .delta import DeltaChannel, DeltaFrames
from .engine import ClientInfo, Publication, StreamPosition
from .state import GAP, IN_ORDER, SUBSCRIBED
from .subscription import ChannelSub
from .tags_filter import TagsFilter
from .wire import (
    INVALID,
    Encoded,
    EncodedRun,
    encoded_join,
    encoded_leave,
    encoded_publication,
)

if TYPE_CHECKING:
    from .client import ClientSession


class Hub:
    """Connections by client ID, user and session; subscribers by channel."""

    __slots__ = ("channels", "conns", "deltas", "plain", "sessions", "special", "users")

    def __init__(self) -> None:
        self.conns: dict[str, ClientSession] = {}
        self.users: dict[str, dict[str, ClientSession]] = {}
        self.sessions: dict[str, ClientSession] = {}
        self.channels: dict[str, dict[str, ChannelSub]] = {}  # every subscriber
        self.plain: dict[str, dict[str, ChannelSub]] = {}  # subscribers that are not special
        self.special: dict[str, dict[str, ChannelSub]] = {}  # tags filter or delta
        self.deltas: dict[str, DeltaChannel] = {}  # channels with a delta subscriber

    # --- connections ----------------------------------------------------------------------

    def add_connection(self, client: ClientSession) -> None:
        self.conns[client.id] = client
        self.users.setdefault(client.user, {})[client.id] = client
        if client.session_id:
            self.sessions[client.session_id] = client

    def remove_connection(self, client: ClientSession) -> None:
        if self.conns.pop(client.id, None) is None:
            return
        by_user = self.users.get(client.user)
        if by_user is not None:
            by_user.pop(client.id, None)
            if not by_user:
                del self.users[client.user]
        if client.session_id:
            self.sessions.pop(client.session_id, None)

    def find(self, user: str, *, client: str = "", session: str = "") -> list[ClientSession]:
        """The connections of ``user`` on this node, only ``client`` / ``session`` when given
        (how every user operation finds its targets)."""
        return [
            s
            for s in self.users.get(user, {}).values()
            if (not client or s.id == client) and (not session or s.session_id == session)
        ]

    def num_users(self) -> int:
        return len(self.users)

    # --- subscriptions --------------------------------------------------------------------

    def add_subscriber(self, sub: ChannelSub) -> bool:
        """Register ``sub``; True when it is the first local subscriber of the channel."""
        channel, cid = sub.channel, sub.client.id
        subs = self.channels.get(channel)
        first = subs is None
        if subs is None:
            subs = self.channels[channel] = {}
        subs[cid] = sub
        group = self.special if sub.special else self.plain
        members = group.get(channel)
        if members is None:
            members = group[channel] = {}
        members[cid] = sub
        if sub.options.delta:
            state = self.deltas.get(channel)
            if state is None:
                state = self.deltas[channel] = DeltaChannel()
            state.subscribers += 1
        return first

    def remove_subscriber(self, channel: str, client_id: str) -> bool:
        """Unregister; True when the channel has no local subscriber left."""
        subs = self.channels.get(channel)
        if subs is None:
            return False
        sub = subs.pop(client_id, None)
        if sub is not None:
            group = self.special if sub.special else self.plain
            members = group.get(channel)
            if members is not None and members.pop(client_id, None) is not None and not members:
                del group[channel]
            state = self.deltas.get(channel) if sub.options.delta else None
            if state is not None:
                state.subscribers -= 1
                if not state.subscribers:
                    del self.deltas[channel]
        if not subs:
            del self.channels[channel]
            return True
        return False

    def delta_seen(self, channel: str, pub: Publication, position: StreamPosition) -> None:
        """A delta subscriber recovered ``pub``: the next publication's base if newer."""
        state = self.deltas.get(channel)
        if state is not None:
            state.saw(pub, position)

    def num_subscribers(self, channel: str) -> int:
        return len(self.channels.get(channel, ()))

    def num_subscriptions(self) -> int:
        return sum(len(s) for s in self.channels.values())

    # --- fan-out --------------------------------------------------------------------------

    def broadcast_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        """Deliver ``pub`` to every local subscriber of ``channel``."""
        self.broadcast_publications(channel, (pub,), None if position is None else (position,))

    def broadcast_publications(
        self,
        channel: str,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
    ) -> None:
        """Deliver each of ``pubs``, in order, to every local subscriber of ``channel`` (the
        hot loop); ``positions[i]`` is the stream position ``pubs[i]`` made (None: no
        history).  The same as one ``broadcast_publication`` per publication.

        Several publications go to each plain subscriber as ONE chunk (``_broadcast_chunk``,
        docs/performance.md "Bursts"); the subscribers that need them one by one take the
        per-publication loop, after (each subscriber gets all of them one way or the other,
        so its order holds)."""
        subs: Collection[ChannelSub] | None = None
        plain = self.plain.get(channel)
        if plain:
            subs = plain.values()
        special = self.special.get(channel)
        encs: list[Encoded] | None = None
        if len(pubs) > 1 and subs:
            run = EncodedRun(channel, pubs)
            encs = run.encs
            subs = self._broadcast_chunk(run, pubs, positions, subs)
        if not subs and special is None:
            return
        for i, pub in enumerate(pubs):
            position = None if positions is None else positions[i]
            enc = encoded_publication(channel, pub) if encs is None else encs[i]
            bad: list[ChannelSub] | None = None
            check_position = position is not None and pub.offset > 0
            last_variant = -1
            data = b""
            for sub in subs or ():
                if sub.state is not SUBSCRIBED:
                    if sub.buffer is not None:
                        sub.buffer.append((pub, position))
                    continue
                if check_position and sub.options.positioned:
                    assert position is not None
                    seen = sub.check(pub.offset, position.epoch)
                    if seen is not IN_ORDER:
                        if seen is GAP:
                            if bad is None:
                                bad = []
                            bad.append(sub)
                        continue
                client = sub.client
                variant = client.variant
                if variant != last_variant:
                    data = enc.get(variant)
                    last_variant = variant
                if data is INVALID:
                    if bad is None:
                        bad = []
                    bad.append(sub)
                    continue
                client.writer.write(data)
            if special is not None:
                bad = self._broadcast_special(channel, special, pub, position, enc, bad)
            if bad is not None:
                for sub in bad:
                    sub.client.on_delivery_problem(sub, pub, position, enc)

    @staticmethod
    def _broadcast_chunk(
        run: EncodedRun,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
        subs: Collection[ChannelSub],
    ) -> list[ChannelSub]:
        """Write ``run``'s chunk to each of ``subs`` that can take all of ``pubs`` at once;
        returns the others, in order, for the per-publication loop: not SUBSCRIBED yet
        (buffering), a transport without chunks, a publication its variant cannot carry, or
        a positioned subscription whose position is not right before the run (or a run whose
        offsets are not consecutive): each of those is judged publication by publication.
        One chunk for one subscriber costs what one publication did (bench/fanout.py B)."""
        first, count = pubs[0], len(pubs)
        positioned = positions is not None and first.offset > 0
        epoch = ""
        last_offset = 0
        contiguous = False
        if positioned:
            assert positions is not None
            epoch = positions[0].epoch
            last_offset = pubs[-1].offset
            contiguous = last_offset == first.offset + count - 1 and all(
                p.epoch == epoch for p in positions
            )
            contiguous = contiguous and all(
                p.offset == first.offset + i for i, p in enumerate(pubs)
            )
        rest: list[ChannelSub] = []
        last_key = -2
        data = INVALID
        for sub in subs:
            client = sub.client
            key = client.chunk_key
            if key < 0 or sub.state is not SUBSCRIBED:
                rest.append(sub)
                continue
            if key != last_key:
                data = run.chunk(key)
                last_key = key
            if data is INVALID:
                rest.append(sub)
                continue
            if positioned and sub.options.positioned:
                if not contiguous or sub.check(first.offset, epoch) is not IN_ORDER:
                    rest.append(sub)
                    continue
                sub.offset = last_offset
            client.writer.write_chunk(data, count)
        return rest

    def _broadcast_special(
        self,
        channel: str,
        subs: dict[str, ChannelSub],
        pub: Publication,
        position: StreamPosition | None,
        enc: Encoded,
        bad: list[ChannelSub] | None,
    ) -> list[ChannelSub] | None:
        """The special subscribers' part of a broadcast; returns ``bad`` with theirs added.

        A filtered-out publication is not sent but still moves a positioned subscription on
        (the gap is the filter's, not a loss).  A delta subscriber gets the shared delta frame
        when its base is the previous publication, else the shared full frame."""
        verdicts: dict[TagsFilter, bool] = {}
        state = self.deltas.get(channel)
        frames: DeltaFrames | None = None
        check_position = position is not None and pub.offset > 0
        for sub in subs.values():
            if sub.state is not SUBSCRIBED:
                if sub.buffer is not None:
                    sub.buffer.append((pub, position))
                continue
            if check_position and sub.options.positioned:
                assert position is not None
                seen = sub.check(pub.offset, position.epoch)
                if seen is not IN_ORDER:
                    if seen is GAP:
                        if bad is None:
                            bad = []
                        bad.append(sub)
                    continue
            flt = sub.options.tags_filter
            if flt is not None:
                verdict = verdicts.get(flt)
                if verdict is None:
                    verdict = verdicts[flt] = flt.match(pub.tags)
                if not verdict:
                    continue
            if sub.options.delta:
                if frames is None:
                    base = None if state is None else state.base_of(pub, position)
                    frames = DeltaFrames(channel, pub, enc, base)
                data = self.delta_frame(sub, frames)
            else:
                data = enc.get(sub.client.variant)
            if data is INVALID:
                if bad is None:
                    bad = []
                bad.append(sub)
                continue
            sub.client.writer.write(data)
        if state is not None:
            state.saw(pub, position)
        return bad

    @staticmethod
    def delta_frame(sub: ChannelSub, frames: DeltaFrames) -> bytes:
        """The frame of ``frames``' publication for delta subscriber ``sub`` (its next base)."""
        pub = frames.pub
        variant = sub.client.variant
        data: bytes | None = None
        if sub.options.positioned and pub.offset and sub.delta_base == pub.offset - 1:
            data = frames.delta(variant)
        if data is None:
            data = frames.full(variant)
        # the client's base is now this data; without an offset (no history) nothing can
        # name it, so the next publication goes full
        sub.delta_base = pub.offset
        return data

    def deliver(self, sub: ChannelSub, pub: Publication, position: StreamPosition | None) -> None:
        """Deliver one publication to one special subscriber outside a broadcast (buffered
        during its subscribe): filter and delta rules as in a broadcast."""
        enc = encoded_publication(sub.channel, pub)
        bad = self._broadcast_special(sub.channel, {sub.client.id: sub}, pub, position, enc, None)
        if bad:
            sub.client.on_delivery_problem(sub, pub, position, enc)

    def broadcast_join(self, channel: str, info: ClientInfo) -> None:
        self._broadcast_presence_event(channel, encoded_join(channel, info))

    def broadcast_leave(self, channel: str, info: ClientInfo) -> None:
        self._broadcast_presence_event(channel, encoded_leave(channel, info))

    def _broadcast_presence_event(self, channel: str, enc: Encoded) -> None:
        subs = self.channels.get(channel)
        if not subs:
            return
        for sub in subs.values():
            if sub.state is not SUBSCRIBED or not sub.options.push_join_leave:
                continue
            data = enc.get(sub.client.variant)
            if data is not INVALID:
                sub.client.writer.write(data)
