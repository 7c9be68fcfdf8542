"""A client connection: the protocol v2 state machine (spec §1.8, §4, §6).

Transports call ``handle_data`` with each incoming frame; commands run sequentially in
arrival order.  Replies and pushes go through the connection's ``Writer``.  Every failure
ends either as an error reply (connection kept) or as a disconnect (connection closed).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import messages as m
from .engine import ClientInfo, Publication, StreamPosition
from .refreshing import refresh_connection, refresh_subscription
from .subscription import SUBSCRIBED, ChannelSub
from .timers import TimerGroup
from .wire import INVALID, JSON_PUSH, JSON_REPLY, Encoded, encoded_publication, variant_of
from .writer import Writer

if TYPE_CHECKING:
    from .node import Node
    from .transport import Transport

log = logging.getLogger("gyre.client")

NEW, CONNECTED, FAILED, CLOSED = range(4)

# keys of a session's own timers; a subscription's expiry timer is keyed by its channel
_STALE, _PING, _PONG, _EXPIRE = range(4)


class ClientSession:
    """One client connection on this node."""

    __slots__ = (
        "__weakref__",
        "_lock",
        "client_side_refresh",
        "expire_at",
        "id",
        "info",
        "meta",
        "name",
        "node",
        "ping_outstanding",
        "request_headers",
        "session_id",
        "state",
        "subs",
        "timers",
        "token_channels",
        "transport",
        "user",
        "variant",
        "version",
        "writer",
    )

    def __init__(
        self, node: Node, transport: Transport, *, headers: dict[str, str] | None = None
    ) -> None:
        self.node = node
        self.transport = transport
        self.id = str(uuid.uuid4())
        self.session_id = (
            str(uuid.uuid4()) if (transport.emulation or transport.unidirectional) else ""
        )
        self.user = ""
        self.info = b""
        self.meta = b""
        self.name = ""
        self.version = ""
        self.expire_at = 0
        self.client_side_refresh = True
        self.token_channels: frozenset[str] = frozenset()
        self.state = NEW
        self.subs: dict[str, ChannelSub] = {}
        self.ping_outstanding = False
        self.request_headers = headers or {}
        self.variant = variant_of(transport.codec, transport.unidirectional)
        self.writer = Writer(
            transport,
            node.flush_loop,
            max_queue=node.config.client_queue_max_size,
            on_overflow=self._on_overflow,
            write_timeout=getattr(transport, "write_timeout", 0.0),
            on_write_timeout=self._on_write_timeout,
        )
        self._lock: asyncio.Lock | None = None
        # every timer of this connection, cancelled at once by ``disconnect``
        self.timers = TimerGroup(node.timers)
        node.on_client_created(self)
        self.timers.set(_STALE, node.config.client_stale_close_delay, self._check_stale)

    # --- properties -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state == CLOSED

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED

    def client_info(self, channel: str = "") -> ClientInfo:
        """ClientInfo for presence/join/leave/publications (chan_info of ``channel`` if any)."""
        sub = self.subs.get(channel) if channel else None
        return ClientInfo(
            user=self.user,
            client=self.id,
            conn_info=self.info,
            chan_info=sub.options.chan_info if sub is not None else b"",
        )

    def client_info_for(self, sub: ChannelSub) -> ClientInfo:
        """ClientInfo carrying the chan_info of ``sub`` (works after the sub was removed)."""
        return ClientInfo(
            user=self.user, client=self.id, conn_info=self.info, chan_info=sub.options.chan_info
        )

    # --- incoming -------------------------------------------------------------------------

    async def handle_data(self, data: bytes) -> bool:
        """Decode and process one frame; False once the connection is closed."""
        if self.state == CLOSED:
            return False
        # commands run in order as decoded; a bad one ends the frame (and the connection)
        # after the ones before it were answered, as Centrifugo's stream decoder does
        commands, error = self.transport.codec.decode_command_prefix(data)
        for cmd in commands:
            if not await self.handle_command(cmd):
                return False
        if error is not None:
            log.info("client %s: bad frame: %s", self.id, error)
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        return True

    async def handle_data_serialized(self, data: bytes) -> bool:
        """``handle_data`` for transports whose frames may arrive concurrently (/emulation)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self.handle_data(data)

    async def handle_command(self, cmd: m.Command) -> bool:
        """Process one command; False once the connection is closed."""
        from . import commands

        state = self.state
        if state == CLOSED:
            return False
        if cmd.id == 0 and cmd.send is None:
            return self._handle_pong(cmd)
        if state == FAILED:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        if cmd.connect is not None:
            if state != NEW:
                self.disconnect(c.DISCONNECT_BAD_REQUEST)
                return False
            return await commands.run(self, cmd, commands.handle_connect)
        if state != CONNECTED:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        handler = commands.dispatch(cmd)
        if handler is None:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        return await commands.run(self, cmd, handler)

    async def connect_unidirectional(self, req: m.ConnectRequest) -> bool:
        """Connect a unidirectional client from its bare ConnectRequest (spec §2.7).

        Errors become disconnects: 109 → 3005, 111 → 3013, 103 → 3507, any other → 3004;
        an explicit disconnect is kept.  Returns True when connected.
        """
        from . import commands

        if self.state != NEW:
            return False
        try:
            await commands.handle_connect(self, m.Command(id=0, connect=req))
        except c.ReplyError as e:
            mapping = {
                c.ERROR_TOKEN_EXPIRED.code: c.DISCONNECT_EXPIRED,
                c.ERROR_TOO_MANY_REQUESTS.code: c.DISCONNECT_TOO_MANY_REQUESTS,
                c.ERROR_PERMISSION_DENIED.code: c.DISCONNECT_PERMISSION_DENIED,
            }
            self.disconnect(mapping.get(e.error.code, c.DISCONNECT_SERVER_ERROR))
            return False
        except c.DisconnectError as e:
            self.disconnect(e.disconnect)
            return False
        except Exception:
            log.exception("client %s: unidirectional connect failed", self.id)
            self.disconnect(c.DISCONNECT_SERVER_ERROR)
            return False
        return self.state == CONNECTED

    def _handle_pong(self, cmd: m.Command) -> bool:
        if self.state != CONNECTED or self.transport.unidirectional:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        if cmd != m.Command() or not self.ping_outstanding:
            # only an empty command is a pong, and only one per ping (v4.1.1+)
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        self.ping_outstanding = False
        return True

    # --- outgoing -------------------------------------------------------------------------

    def write_reply(self, reply: m.Reply) -> None:
        self.writer.write(self.transport.codec.encode_reply(reply))

    def write_push(self, push: m.Push) -> None:
        """Write a push wrapped in a Reply (bidirectional) or bare (unidirectional)."""
        if self.transport.unidirectional:
            self.writer.write(self.transport.codec.encode_push(push))
        else:
            self.writer.write(self.transport.codec.encode_reply(m.Reply(push=push)))

    def deliver(self, sub: ChannelSub, pub: Publication, position: StreamPosition | None) -> None:
        """Deliver one publication to one subscription (used for buffered publications)."""
        if sub.options.positioned and position is not None and pub.offset:
            if pub.offset <= sub.offset and position.epoch == sub.epoch:
                return  # already delivered by recovery
            if pub.offset != sub.offset + 1 or position.epoch != sub.epoch:
                self.position_lost(sub)
                return
            sub.offset = pub.offset
        enc = encoded_publication(sub.channel, pub)
        data = enc.get(self.variant)
        if data is INVALID:
            self.disconnect(c.DISCONNECT_INAPPROPRIATE_PROTOCOL)
            return
        self.writer.write(data)

    def on_delivery_problem(
        self,
        sub: ChannelSub,
        pub: Publication,
        position: StreamPosition | None,
        enc: Encoded,
    ) -> None:
        """Called by the hub when a publication cannot be delivered as is."""
        if self.variant in (JSON_REPLY, JSON_PUSH) and enc.get(self.variant) is INVALID:
            self.disconnect(c.DISCONNECT_INAPPROPRIATE_PROTOCOL)
            return
        self.position_lost(sub)

    def position_lost(self, sub: ChannelSub) -> None:
        """Stream continuity broken: 2500 for client-side subs, 3010 for server-side (§6.9)."""
        if sub.server_side:
            self.disconnect(c.DISCONNECT_INSUFFICIENT_STATE)
        else:
            code, reason = c.UNSUBSCRIBE_INSUFFICIENT_STATE
            self.node.spawn(self.unsubscribe(sub.channel, code, reason, push=True))

    # --- subscriptions --------------------------------------------------------------------

    def activate(self, sub: ChannelSub) -> None:
        """Mark ``sub`` subscribed (after its reply was written) and flush its buffer."""
        buffered = sub.buffer or []
        sub.buffer = None
        sub.state = SUBSCRIBED
        for pub, position in buffered:
            if self.state == CLOSED or sub.state != SUBSCRIBED:
                return
            self.deliver(sub, pub, position)
        if sub.options.join_leave:
            self.node.spawn(self.node.publish_join(sub.channel, self.client_info(sub.channel)))

    async def unsubscribe(self, channel: str, code: int, reason: str, *, push: bool) -> None:
        """Remove a subscription; ``push`` sends an unsubscribe push with code/reason."""
        sub = self.subs.pop(channel, None)
        if sub is None:
            return
        self.timers.cancel(channel)
        if push and self.state == CONNECTED:
            self.write_push(
                m.Push(channel=channel, unsubscribe=m.Unsubscribe(code=code, reason=reason))
            )
        await self.node.remove_subscription(self, sub)

    # --- timers ---------------------------------------------------------------------------

    def _check_stale(self) -> None:
        if self.state in (NEW, FAILED):
            self.disconnect(c.DISCONNECT_STALE)

    def start_timers(self) -> None:
        """Start pings (first one randomised in [0, ping_interval), spec §4) and expiry."""
        cfg = self.node.config
        if self.transport.app_ping and cfg.ping_interval > 0:
            self.timers.set(_PING, random.uniform(0, cfg.ping_interval), self._send_ping)
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
                self.timers.set(_PONG, cfg.pong_timeout, self._check_pong)
        self.timers.set(_PING, cfg.ping_interval, self._send_ping)

    def _check_pong(self) -> None:
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
            self.node.spawn(refresh_connection(self, expected))

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
        if not sub.options.client_side_refresh:
            self.node.spawn(refresh_subscription(self, sub, expected))
            return
        self.subscription_expired(sub)

    def subscription_expired(self, sub: ChannelSub) -> None:
        """End an expired subscription: 3006 for a server-side one, unsubscribe 2501 else."""
        if sub.server_side:
            self.disconnect(c.DISCONNECT_SUB_EXPIRED)
        else:
            code, reason = c.UNSUBSCRIBE_EXPIRED
            self.node.spawn(self.unsubscribe(sub.channel, code, reason, push=True))

    # --- closing --------------------------------------------------------------------------

    def _on_overflow(self) -> None:
        self.disconnect(c.DISCONNECT_SLOW)

    def _on_write_timeout(self) -> None:
        self.disconnect(c.DISCONNECT_WRITE_ERROR)

    def disconnect(self, d: c.DisconnectCode) -> None:
        """Close the connection with ``d`` (idempotent); cleanup continues in background."""
        if self.state == CLOSED:
            return
        was_connected = self.state == CONNECTED
        self.state = CLOSED
        self.timers.clear()  # nothing scheduled may keep a closed connection alive
        code = d.code
        transport = self.transport
        if code in (c.DISCONNECT_SLOW.code, c.DISCONNECT_CONNECTION_CLOSED.code):
            self.writer.discard()
        else:
            self.writer.flush()
            self.writer.discard()
            if transport.disconnect_push:
                push = m.Push(disconnect=m.Disconnect(code=code, reason=d.reason))
                try:
                    if transport.unidirectional:
                        transport.write([transport.codec.encode_push(push)])
                    else:
                        transport.write([transport.codec.encode_reply(m.Reply(push=push))])
                except Exception:
                    log.debug("client %s: disconnect push failed", self.id, exc_info=True)
        try:
            transport.close(d)
        except Exception:
            log.debug("client %s: transport close failed", self.id, exc_info=True)
        if code != c.DISCONNECT_CONNECTION_CLOSED.code:
            log.info(
                "client %s user %r disconnected: %d %s",
                self.id,
                self.user,
                code,
                d.reason,
                extra={"client": self.id, "user": self.user, "code": code, "reason": d.reason},
            )
        self.node.on_client_closed(self, d, was_connected)

    def on_transport_closed(self) -> None:
        """The peer went away (transport-level close): code 3000, no close frame."""
        self.disconnect(c.DISCONNECT_CONNECTION_CLOSED)
