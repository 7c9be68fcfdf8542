"""Which channels this node has asked its broker to deliver, and when it stops asking.

A channel is needed while it has a local subscriber or a server-side observer
(``observers.py``).  Subscribing is shared: concurrent callers for one channel wait on the
same broker call.  Unsubscribing is deferred (>= 1 s) and skipped when the channel is needed
again meanwhile, so a client that resubscribes at once costs the broker nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger("gyre.node")

UNSUBSCRIBE_DELAY = 1.0


class BrokerChannels:
    """Broker subscriptions of one node."""

    __slots__ = ("_pending", "node", "subscribed")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.subscribed: set[str] = set()
        self._pending: dict[str, asyncio.Future[None]] = {}

    def needed(self, channel: str) -> bool:
        node = self.node
        return node.hub.num_subscribers(channel) > 0 or node.observers.watched(channel)

    async def ensure(self, channel: str) -> None:
        """Return once the broker delivers ``channel`` here (raises the broker's error)."""
        if channel in self.subscribed:
            return
        fut = self._pending.get(channel)
        if fut is not None:
            await asyncio.shield(fut)
            return
        fut = asyncio.get_running_loop().create_future()
        self._pending[channel] = fut
        try:
            await self.node.broker.subscribe(channel)
            self.subscribed.add(channel)
            fut.set_result(None)
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved
            raise
        finally:
            del self._pending[channel]

    def release_later(self, channel: str) -> None:
        """Deferred unsubscribe, skipped if the channel is needed again meanwhile."""

        def check() -> None:
            if not self.needed(channel) and channel in self.subscribed:
                self.subscribed.discard(channel)
                self.node.spawn(self._unsubscribe(channel))

        try:
            self.node.timers.schedule(UNSUBSCRIBE_DELAY, check)
        except RuntimeError:
            pass

    async def _unsubscribe(self, channel: str) -> None:
        try:
            await self.node.broker.unsubscribe(channel)
        except Exception as e:
            log.warning("broker unsubscribe %s failed: %s", channel, e)
