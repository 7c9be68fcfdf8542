"""The timers of a client connection: stale check, pings and pong checks, connection and
subscription expiry (docs/protocol.md#ping-and-pong, docs/protocol.md#expiry-and-refresh).

A base class of ``ClientSession`` so the session's lifecycle methods stay in ``client.py``.
Every timer lives on the node's one ``TimerWheel`` and belongs to the session's
``TimerGroup`` (``timers``), which ``disconnect`` clears at once; pings are the node's
``PingSchedule`` (``node.pings``), which ``disconnect`` leaves too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from ..protocol import codes as c
from .refreshing import refresh_connection, refresh_subscription
from .state import CLOSED, CONNECTED, FAILED, NEW, ConnectionState

if TYPE_CHECKING:
    from .client import ClientSession
    from .node import Node
    from .subscription import ChannelSub
    from .timers import TimerGroup
    from .transport import Transport
    from .writer import Writer

# keys of a session's own timers; a subscription's expiry timer is keyed by its channel
_STALE, _EXPIRE = range(2)


class SessionTimers:
    """Timer callbacks of one session (``self`` is the ``ClientSession``)."""

    __slots__ = ("ping_outstanding",)  # a ping went out and no pong came back yet

    if TYPE_CHECKING:  # what the timers use of the session
        node: Node
        timers: TimerGroup
        transport: Transport
        writer: Writer
        state: ConnectionState
        subs: dict[str, ChannelSub]
        expire_at: int
        client_side_refresh: bool

        def disconnect(self, d: c.DisconnectCode) -> None: ...

        async def unsubscribe(
            self, channel: str, code: int, reason: str, *, push: bool
        ) -> None: ...

    def arm_stale_check(self) -> None:
        """No successful connect within ``client_stale_close_delay``: 3502."""
        self.timers.set(_STALE, self.node.config.client_stale_close_delay, self._check_stale)

    def _check_stale(self) -> None:
        if self.state in (NEW, FAILED):
            self.disconnect(c.DISCONNECT_STALE)

    def start_timers(self) -> None:
        """Start pings (the node's ``PingSchedule``: first one within ``ping_interval``,
        docs/protocol.md#ping-and-pong) and expiry.  No-op once the session is closed."""
        if self.state == CLOSED:
            return
        cfg = self.node.config
        if self.transport.app_ping and cfg.ping_interval > 0:
            self.node.pings.add(cast("ClientSession", self))
        self.schedule_expiry_check()

    def send_ping(self) -> None:
        """One ping: an empty Reply (an empty Push when unidirectional); a bidirectional
        session then owes a pong within ``pong_timeout`` (``check_pong``)."""
        if self.state != CONNECTED:
            return
        if self.transport.unidirectional:
            self.writer.write(self.transport.codec.uni_ping)
        else:
            self.writer.write(self.transport.codec.ping)
            if self.node.config.pong_timeout > 0:
                self.ping_outstanding = True

    def check_pong(self) -> None:
        """``pong_timeout`` after a ping: 3012 when its pong has not come."""
        if self.state == CONNECTED and self.ping_outstanding:
            self.disconnect(c.DISCONNECT_NO_PONG)

    def schedule_expiry_check(self) -> None:
        """(Re)arm the connection expiry check for ``expire_at`` (replacing an earlier one):
        ``client_expired_close_delay`` after it for a client that refreshes itself, at
        ``expire_at`` for a server-side refresh (docs/proxy.md#server-side-refresh)."""
        if self.expire_at <= 0:
            self.timers.cancel(_EXPIRE)
            return
        expected = self.expire_at
        if not self.client_side_refresh:
            delay = expected - time.time()
            self.timers.set(_EXPIRE, delay, lambda: self._refresh_expired(expected))
            return
        delay = expected - time.time() + self.node.config.client_expired_close_delay
        self.timers.set(_EXPIRE, delay, lambda: self._check_expired(expected))

    def _refresh_expired(self, expected: int) -> None:
        if self.state == CONNECTED and self.expire_at == expected:
            self.node.spawn(refresh_connection(cast("ClientSession", self), expected))

    def _check_expired(self, expected: int) -> None:
        if self.state != CONNECTED or self.expire_at != expected:
            return
        if time.time() >= self.expire_at + self.node.config.client_expired_close_delay - 1:
            self.disconnect(c.DISCONNECT_EXPIRED)

    def schedule_sub_expiry_check(self, sub: ChannelSub) -> None:
        """(Re)arm the expiry check of ``sub`` (one per channel, replacing an earlier one)."""
        exp = sub.options.expire_at
        if exp <= 0:
            self.timers.cancel(sub.channel)
            return
        delay = exp - time.time() + self.node.config.client_expired_sub_close_delay
        self.timers.set(sub.channel, delay, lambda: self._check_sub_expired(sub, exp))

    def _check_sub_expired(self, sub: ChannelSub, expected: int) -> None:
        if self.state != CONNECTED or self.subs.get(sub.channel) is not sub:
            return
        if sub.options.expire_at != expected:
            return
        if not sub.options.client_side_refresh:  # the server refreshes it: ask first
            session = cast("ClientSession", self)
            self.node.spawn(refresh_subscription(session, sub, expected))
            return
        self.subscription_expired(sub)

    def subscription_expired(self, sub: ChannelSub) -> None:
        """End an expired subscription: 3006 for a server-side one, unsubscribe 2501 else."""
        if sub.server_side:
            self.disconnect(c.DISCONNECT_SUB_EXPIRED)
        else:
            code, reason = c.UNSUBSCRIBE_EXPIRED
            self.node.spawn(self.unsubscribe(sub.channel, code, reason, push=True))
