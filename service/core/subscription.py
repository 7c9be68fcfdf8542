"""State of one channel subscription of one connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine import Publication, StreamPosition
from .hooks import SubscriptionOptions
from .state import DUPLICATE, IN_ORDER, SUBSCRIBED, SUBSCRIBING, Continuity, continuity

if TYPE_CHECKING:
    from .client import ClientSession


class ChannelSub:
    """A connection's subscription to ``channel``.

    While ``state`` is SUBSCRIBING, publications are buffered (``buffer``) so none is lost or
    duplicated between the position/recovery read and the subscribe reply
    (docs/protocol.md#positioning-and-recovery).  ``offset``/``epoch`` are the last position
    delivered of a positioned subscription; ``check`` is how it moves.
    ``delta_base``: offset of the last publication a delta subscription was sent with data (0:
    none since it subscribed, or that one had no offset), the base of its next delta
    (docs/beyond_v4.md).
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

    def place(self, position: StreamPosition) -> None:
        """Start from ``position`` (the stream top read when subscribing)."""
        self.offset, self.epoch = position

    def check(self, offset: int, epoch: str) -> Continuity:
        """Judge a publication at (``offset``, ``epoch``): IN_ORDER moves the position to it;
        DUPLICATE (already delivered) and GAP (publications lost) leave it."""
        result = continuity(self.offset, self.epoch, offset, epoch)
        if result is IN_ORDER:
            self.offset = offset
        return result

    def behind(self, top: StreamPosition) -> bool:
        """True when the stream ``top`` is past what this subscription delivered (or on
        another epoch): a publication may have been lost."""
        return continuity(self.offset, self.epoch, top.offset, top.epoch) is not DUPLICATE

    def take_buffer(self) -> list[tuple[Publication, StreamPosition | None]]:
        """Go live: SUBSCRIBED from now on; returns what was buffered meanwhile."""
        buffered = self.buffer or []
        self.buffer = None
        self.state = SUBSCRIBED
        return buffered
