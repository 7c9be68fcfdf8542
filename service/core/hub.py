"""Local registry of connections and channel subscribers, and the fan-out loop.

A broadcast encodes its message once per wire variant (``wire.Encoded``) and appends the same
bytes to every subscriber's writer; no Task or Queue per subscriber.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .engine import ClientInfo, Publication, StreamPosition
from .state import Continuity, SubscriptionState
from .subscription import ChannelSub
from .wire import INVALID, Encoded, encoded_join, encoded_leave, encoded_publication

if TYPE_CHECKING:
    from .client import ClientSession


class Hub:
    """Connections by client ID, user and session; subscribers by channel."""

    __slots__ = ("channels", "conns", "sessions", "users")

    def __init__(self) -> None:
        self.conns: dict[str, ClientSession] = {}
        self.users: dict[str, dict[str, ClientSession]] = {}
        self.sessions: dict[str, ClientSession] = {}
        self.channels: dict[str, dict[str, ChannelSub]] = {}

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
        subs = self.channels.get(sub.channel)
        first = subs is None
        if subs is None:
            subs = self.channels[sub.channel] = {}
        subs[sub.client.id] = sub
        return first

    def remove_subscriber(self, channel: str, client_id: str) -> bool:
        """Unregister; True when the channel has no local subscriber left."""
        subs = self.channels.get(channel)
        if subs is None:
            return False
        subs.pop(client_id, None)
        if not subs:
            del self.channels[channel]
            return True
        return False

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
        history).  The same as one ``broadcast_publication`` per publication."""
        subs = self.channels.get(channel)
        if not subs:
            return
        SUBSCRIBED, IN_ORDER = SubscriptionState.SUBSCRIBED, Continuity.IN_ORDER
        for i, pub in enumerate(pubs):
            position = None if positions is None else positions[i]
            enc = encoded_publication(channel, pub)
            bad: list[ChannelSub] | None = None
            check_position = position is not None and pub.offset > 0
            last_variant = -1
            data = b""
            for sub in subs.values():
                if sub.state != SUBSCRIBED:
                    if sub.buffer is not None:
                        sub.buffer.append((pub, position))
                    continue
                if check_position and sub.options.positioned:
                    assert position is not None
                    seen = sub.check(pub.offset, position.epoch)
                    if seen is not IN_ORDER:
                        if seen is Continuity.GAP:
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
            if bad is not None:
                for sub in bad:
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
            if sub.state != SubscriptionState.SUBSCRIBED or not sub.options.push_join_leave:
                continue
            data = enc.get(sub.client.variant)
            if data is not INVALID:
                sub.client.writer.write(data)
