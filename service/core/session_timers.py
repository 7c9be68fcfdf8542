"""The timers of a client connection: stale check, pings and pong checks, connection and
subscription expiry (docs/protocol.md#ping-and-pong, docs/protocol.md#expiry-and-refresh).

A base class of ``ClientSession`` so the session's lifecycle methods stay in ``client.py``;
every timer lives on the node's one ``TimerWheel`` (no timer handle per connection).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import messages as m
from .state import ConnectionState

if TYPE_CHECKING:
    from .node import Node
    from .subscription import ChannelSub
    from .transport import Transport
    from .writer import Writer

NEW, CONNECTED, FAILED, CLOSED = ConnectionState


class SessionTimers:
    """Timer callbacks of one session (``self`` is the ``ClientSession``)."""

    __slots__ = ("ping_outstanding",)  # a ping went out and no pong came back yet

    if TYPE_CHECKING:  # what the timers use of the session
        node: Node
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

    def _check_stale(self) -> None:
        if self.state in (NEW, FAILED):
            self.disconnect(c.DISCONNECT_STALE)

    def start_timers(self) -> None:
        """Start pings (first one randomised in [0, ping_interval), docs/protocol.md#ping-and-pong)
        and expiry."""
        cfg = self.node.config
        if self.transport.app_ping and cfg.ping_interval > 0:
            self.node.timers.schedule(random.uniform(0, cfg.ping_interval), self._send_ping)
        self.schedule_expiry_check()

    def _send_ping(self) -> None:
        if self.state != CONNECTED:
            return
        cfg = self.node.config
        if self.transport.unidirectional:
            self.writer.write(self.transport.codec.encode_push(m.Push()))
        else:
            self.writer.write(self.transport.codec.encode_reply(m.Reply()))
            if cfg.pong_timeout > 0:
                self.ping_outstanding = True
                self.node.timers.schedule(cfg.pong_timeout, self._check_pong)
        self.node.timers.schedule(cfg.ping_interval, self._send_ping)

    def _check_pong(self) -> None:
        if self.state == CONNECTED and self.ping_outstanding:
            self.disconnect(c.DISCONNECT_NO_PONG)

    def schedule_expiry_check(self) -> None:
        if self.expire_at <= 0 or not self.client_side_refresh:
            return
        delay = self.expire_at - time.time() + self.node.config.client_expired_close_delay
        expected = self.expire_at
        self.node.timers.schedule(delay, lambda: self._check_expired(expected))

    def _check_expired(self, expected: int) -> None:
        if self.state != CONNECTED or self.expire_at != expected:
            return
        if time.time() >= self.expire_at + self.node.config.client_expired_close_delay - 1:
            self.disconnect(c.DISCONNECT_EXPIRED)

    def schedule_sub_expiry_check(self, sub: ChannelSub) -> None:
        exp = sub.options.expire_at
        if exp <= 0:
            return
        delay = exp - time.time() + self.node.config.client_expired_sub_close_delay
        self.node.timers.schedule(delay, lambda: self._check_sub_expired(sub, exp))

    def _check_sub_expired(self, sub: ChannelSub, expected: int) -> None:
        if self.state != CONNECTED or self.subs.get(sub.channel) is not sub:
            return
        if sub.options.expire_at != expected:
            return
        if sub.server_side:
            self.disconnect(c.DISCONNECT_SUB_EXPIRED)
        else:
            code, reason = c.UNSUBSCRIBE_EXPIRED
            self.node.spawn(self.unsubscribe(sub.channel, code, reason, push=True))
