"""Which channels the broker delivers to this node.

A channel is subscribed on the broker (Redis: ``SUBSCRIBE`` of its PUB/SUB channel) while the
hub has a local subscriber, and unsubscribed once the last one left and none came back
within ``RELEASE_DELAY`` (so a client that resubscribes at once does not cost two round
trips).  Nobody listening means nothing subscribed, even when the last subscriber left
while the subscribe was still on its way to the broker; and a subscriber that comes back
while the unsubscribe is still on its way waits for it, so the broker sees the two in order
and ends subscribed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from .engine import Broker
from .timers import Timer, TimerWheel

log = logging.getLogger("gyre.node")

RELEASE_DELAY = 1.0


class BrokerSubscriptions:
    """Broker subscriptions of one node, following its hub's local subscribers.

    * ``subscribers(channel)``: how many local subscribers ``channel`` has now;
    * ``timers``: the node's wheel (release checks); ``spawn`` runs a background coroutine
      owned by the node.
    """

    __slots__ = (
        "_broker",
        "_releasing",
        "_spawn",
        "_subscribed",
        "_subscribers",
        "_subscribing",
        "_timers",
        "_unsubscribing",
    )

    def __init__(
        self,
        broker: Broker,
        *,
        subscribers: Callable[[str], int],
        timers: TimerWheel,
        spawn: Callable[[Coroutine[Any, Any, Any]], object],
    ) -> None:
        self._broker = broker
        self._timers = timers
        self._subscribers = subscribers
        self._spawn = spawn
        self._subscribed: set[str] = set()
        self._subscribing: dict[str, asyncio.Future[None]] = {}
        self._releasing: dict[str, Timer] = {}  # at most one pending release check a channel
        self._unsubscribing: dict[str, asyncio.Future[None]] = {}  # done once it was sent

    def sizes(self) -> dict[str, int]:
        return {
            "broker_subscribed": len(self._subscribed),
            "broker_subscribing": len(self._subscribing),
            "broker_releasing": len(self._releasing),
            "broker_unsubscribing": len(self._unsubscribing),
        }

    async def ensure(self, channel: str) -> None:
        """Return once the broker delivers ``channel`` (one broker call for concurrent
        callers); raises what the broker raised (``EngineError``)."""
        if channel in self._subscribed:
            return
        fut = self._subscribing.get(channel)
        if fut is not None:
            await asyncio.shield(fut)
            return
        leaving = self._unsubscribing.get(channel)
        if leaving is not None:
            # the release decided before this subscriber came: its unsubscribe goes first
            await asyncio.shield(leaving)
            await self.ensure(channel)
            return
        fut = asyncio.get_running_loop().create_future()
        self._subscribing[channel] = fut
        try:
            await self._broker.subscribe(channel)
            self._subscribed.add(channel)
            fut.set_result(None)
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved
            raise
        finally:
            del self._subscribing[channel]

    def release(self, channel: str) -> None:
        """The hub lost ``channel``'s last local subscriber: unsubscribe the broker after
        ``RELEASE_DELAY`` unless a subscriber came back (or a subscribe still in flight then
        completes, see ``check``)."""
        if channel in self._releasing:
            return
        try:
            self._releasing[channel] = self._timers.schedule(
                RELEASE_DELAY, lambda: self._check(channel)
            )
        except RuntimeError:  # no running loop: the node is gone
            log.debug("broker unsubscribe of %s not scheduled: loop closed", channel)

    def _check(self, channel: str) -> None:
        del self._releasing[channel]
        if self._subscribers(channel):
            return
        if channel in self._subscribing:
            # the subscribe has not completed yet: look again once it can have
            self.release(channel)
            return
        if channel in self._subscribed:
            self._subscribed.discard(channel)
            done = asyncio.get_running_loop().create_future()
            self._unsubscribing[channel] = done
            self._spawn(self._unsubscribe(channel, done))

    async def _unsubscribe(self, channel: str, done: asyncio.Future[None]) -> None:
        try:
            await self._broker.unsubscribe(channel)
        except Exception as e:
            log.warning("broker unsubscribe %s failed: %s", channel, e)
        finally:
            del self._unsubscribing[channel]
            done.set_result(None)
