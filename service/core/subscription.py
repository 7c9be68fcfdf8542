"""State of one channel subscription of one connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine import Publication, StreamPosition
from .hooks import SubscriptionOptions

if TYPE_CHECKING:
    from .client import ClientSession

SUBSCRIBING = 0
SUBSCRIBED = 1


class ChannelSub:
    """A connection's subscription to ``channel``.

    While ``state`` is SUBSCRIBING, publications are buffered (``buffer``) so none is lost or
    duplicated between the position/recovery read and the subscribe reply (spec §6.9).
    ``offset``/``epoch`` track the last delivered position of positioned subscriptions.
    ``delta_base``: offset of the last publication a delta subscription was sent with data (0:
    none since it subscribed), the base of its next delta (docs/beyond_v4.md).
    ``special``: it has a tags filter or negotiated delta, so the hub fans out to it apart from
    plain subscribers.
    """

    __slots__ = (
        "buffer",
        "channel",
        "client",
        "delta_base",
        "epoch",
        "offset",
        "options",
        "server_side",
        "special",
        "state",
    )

    def __init__(
        self,
        client: ClientSession,
        channel: str,
        options: SubscriptionOptions,
        *,
        server_side: bool,
    ) -> None:
        self.client = client
        self.channel = channel
        self.options = options
        self.server_side = server_side
        self.state = SUBSCRIBING
        self.buffer: list[tuple[Publication, StreamPosition | None]] | None = []
        self.offset = 0
        self.epoch = ""
        self.delta_base = 0
        self.special = options.delta or options.tags_filter is not None
