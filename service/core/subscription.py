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
    duplicated between the position/recovery read and the subscribe reply
    (docs/protocol.md#positioning-and-recovery).
    ``offset``/``epoch`` track the last delivered position of positioned subscriptions.
    """

    __slots__ = (
        "buffer",
        "channel",
        "client",
        "epoch",
        "offset",
        "options",
        "server_side",
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
