"""Server-side observers of channels: see a channel's traffic without being a client.

An observer gets every publication, join and leave that reaches this node for the channels
it watches (the node keeps its broker subscription while anyone watches), after the local
subscribers got them.  It is not a subscriber: it holds no client session, takes no part in
presence, counts nowhere in ``info``/``channels``, and no channel permission applies to it,
so whoever registers one (the admin live view) must do its own authorisation.

Callbacks run inside the broadcast path: they must be cheap and must not block; an
exception is logged and never reaches the subscribers' delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from .engine import ClientInfo, Publication, StreamPosition

log = logging.getLogger("gyre.observers")


class ChannelObserver(Protocol):
    """What a watcher of channels implements (see module docstring)."""

    def on_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None: ...

    def on_join(self, channel: str, info: ClientInfo) -> None: ...

    def on_leave(self, channel: str, info: ClientInfo) -> None: ...

    def on_close(self) -> None:
        """The node is shutting down: no more events will come; finish promptly."""


class Observers:
    """Observers by channel.  Empty (the usual case) costs the broadcast path one truth test
    of a dict (``if observers.by_channel``) per message."""

    __slots__ = ("by_channel",)

    def __init__(self) -> None:
        self.by_channel: dict[str, list[ChannelObserver]] = {}

    def add(self, channel: str, observer: ChannelObserver) -> None:
        self.by_channel.setdefault(channel, []).append(observer)

    def remove(self, channel: str, observer: ChannelObserver) -> bool:
        """Forget ``observer`` of ``channel``; True when nobody watches the channel any more."""
        watchers = self.by_channel.get(channel)
        if watchers is None:
            return False
        if observer in watchers:
            watchers.remove(observer)
        if watchers:
            return False
        del self.by_channel[channel]
        return True

    def watched(self, channel: str) -> bool:
        return channel in self.by_channel

    def count(self) -> int:
        return sum(len(w) for w in self.by_channel.values())

    def publication(self, channel: str, pub: Publication, position: StreamPosition | None) -> None:
        for observer in tuple(self.by_channel.get(channel, ())):
            try:
                observer.on_publication(channel, pub, position)
            except Exception:
                log.exception("observer of %s failed on a publication", channel)

    def publications(
        self,
        channel: str,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
    ) -> None:
        for i, pub in enumerate(pubs):
            self.publication(channel, pub, None if positions is None else positions[i])

    def join(self, channel: str, info: ClientInfo) -> None:
        for observer in tuple(self.by_channel.get(channel, ())):
            try:
                observer.on_join(channel, info)
            except Exception:
                log.exception("observer of %s failed on a join", channel)

    def close_all(self) -> None:
        """Tell every observer the node is shutting down (they stay registered until they
        unobserve themselves)."""
        for channel, watchers in list(self.by_channel.items()):
            for observer in tuple(watchers):
                try:
                    observer.on_close()
                except Exception:
                    log.exception("observer of %s failed on close", channel)

    def leave(self, channel: str, info: ClientInfo) -> None:
        for observer in tuple(self.by_channel.get(channel, ())):
            try:
                observer.on_leave(channel, info)
            except Exception:
                log.exception("observer of %s failed on a leave", channel)
