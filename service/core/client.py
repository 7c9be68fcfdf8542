"""A client connection: the protocol v2 state machine (docs/protocol.md).

Transports call ``handle_data`` with each incoming frame; commands run sequentially in
arrival order.  Replies and pushes go through the connection's ``Writer``.  Every failure
ends either as an error reply (connection kept) or as a disconnect (connection closed).

The session owns its lifecycle: its connection state (``state.ConnectionState``), its
subscriptions (``subs``, each a ``ChannelSub`` that owns its position) and its timers change
only through its own methods.  Command handlers (``commands/``) decide what a command means
and call these methods to apply it; so do the server API's user operations (``users.py``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import messages as m
from . import commands
from .engine import ClientInfo, Publication, StreamPosition
from .hooks import ConnectDecision, SubscriptionOptions
from .session_timers import SessionTimers
from .state import (
    CLOSED,
    CONNECTED,
    DUPLICATE,
    FAILED,
    GAP,
    NEW,
    SUBSCRIBED,
    ttl_of,
)
from .subscribing import subscribe_channel
from .subscription import ChannelSub
from .timers import TimerGroup
from .wire import (
    INVALID,
    JSON_PUSH,
    JSON_REPLY,
    Encoded,
    chunk_key,
    encoded_publication,
    variant_of,
)
from .writer import Writer

if TYPE_CHECKING:
    from .node import Node
    from .transport import Transport

log = logging.getLogger("gyre.client")


class ClientSession(SessionTimers):
    """One client connection on this node."""

    __slots__ = (
        "__weakref__",
        "_lock",
        "chunk_key",
        "client_side_refresh",
        "expire_at",
        "id",
        "info",
        "meta",
        "name",
        "node",
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
        self.chunk_key = chunk_key(self.variant, getattr(transport, "chunk_framing", 0))
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
        self.arm_stale_check()

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
        if data == self.transport.codec.pong:  # the frame every idle client sends most
            return self._pong()
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
            return await self._run(cmd, commands.handle_connect)
        if state != CONNECTED:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        handler = commands.dispatch(cmd)
        if handler is None:
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        return await self._run(cmd, handler)

    async def _run(self, cmd: m.Command, handler: commands.Handler) -> bool:
        """Apply what ``handler`` decided for ``cmd`` (``commands.run``): a disconnect, an
        error reply (a failed connect leaves the session FAILED) or the reply.  False once
        the connection is closed."""
        outcome = await commands.run(self, cmd, handler)
        if outcome.disconnect is not None:
            self.disconnect(outcome.disconnect)
            return False
        if self.state == CLOSED:
            return False
        error = outcome.error
        if error is not None:
            if cmd.id:
                err = m.Error(code=error.code, message=error.message, temporary=error.temporary)
                self.write_reply(m.Reply(id=cmd.id, error=err))
            if cmd.connect is not None:
                self.state = FAILED
            return True
        reply = outcome.reply
        if reply is not None and cmd.id:
            reply.id = cmd.id
            self.write_reply(reply)
        return self.state != CLOSED

    async def connect_unidirectional(self, req: m.ConnectRequest) -> bool:
        """Connect a unidirectional client from its bare ConnectRequest
        (docs/transports.md#unidirectional-transports).

        Errors become disconnects: 109 → 3005, 111 → 3013, 103 → 3507, any other → 3004;
        an explicit disconnect is kept.  Returns True when connected.
        """
        if self.state != NEW:
            return False
        try:
            await commands.handle_connect(self, m.Command(id=0, connect=req))
        except c.ReplyError as e:
            self.disconnect(c.UNI_CONNECT_ERRORS.get(e.error.code, c.DISCONNECT_SERVER_ERROR))
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
        if cmd != m.Command():  # only an empty command is a pong
            self.disconnect(c.DISCONNECT_BAD_REQUEST)
            return False
        return self._pong()

    def _pong(self) -> bool:
        """A pong: accepted once per ping (v4.1.1+), on a connected bidirectional session."""
        if self.state != CONNECTED or self.transport.unidirectional or not self.ping_outstanding:
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
        if sub.special:  # tags filter / delta: the hub's rules, position check included
            self.node.hub.deliver(sub, pub, position)
            return
        if sub.options.positioned and position is not None and pub.offset:
            seen = sub.check(pub.offset, position.epoch)
            if seen is DUPLICATE:
                return  # already delivered by recovery
            if seen is GAP:
                self.position_lost(sub)
                return
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
        """Called by the hub when a publication cannot be delivered as is: not encodable for
        this connection (3506) or past a gap in the stream (``position_lost``)."""
        if self.variant in (JSON_REPLY, JSON_PUSH) and enc.get(self.variant) is INVALID:
            self.disconnect(c.DISCONNECT_INAPPROPRIATE_PROTOCOL)
            return
        self.position_lost(sub)

    def position_lost(self, sub: ChannelSub) -> None:
        """Stream continuity broken: 2500 for client-side subs, 3010 for server-side
        (docs/protocol.md#positioning-and-recovery)."""
        if sub.server_side:
            self.disconnect(c.DISCONNECT_INSUFFICIENT_STATE)
        else:
            code, reason = c.UNSUBSCRIBE_INSUFFICIENT_STATE
            self.node.spawn(self.unsubscribe(sub.channel, code, reason, push=True))

    # --- subscriptions --------------------------------------------------------------------

    def establish(self, decision: ConnectDecision, req: m.ConnectRequest) -> None:
        """The connect was accepted: take its credentials, join the hub, go CONNECTED."""
        self.user = decision.user
        self.info = decision.info
        self.meta = decision.meta
        self.name = req.name
        self.version = req.version
        self.client_side_refresh = decision.client_side_refresh
        self.token_channels = decision.token_channels
        self.expire_at = decision.expire_at
        self.node.hub.add_connection(self)
        self.state = CONNECTED

    async def add_subscription(
        self, channel: str, opts: SubscriptionOptions, *, server_side: bool
    ) -> ChannelSub:
        """Register a new subscription to ``channel`` (SUBSCRIBING; see ``subscribing``)."""
        sub = ChannelSub(self, channel, opts, server_side=server_side)
        self.subs[channel] = sub
        await self.node.add_subscription(self, sub)
        return sub

    async def drop_subscription(self, channel: str) -> None:
        """Undo ``add_subscription`` (no leave, no push)."""
        sub = self.subs.pop(channel, None)
        if sub is not None:
            await self.node.remove_subscription(self, sub, leave=False)

    def activate(self, sub: ChannelSub) -> None:
        """Make ``sub`` live (after its reply or push was written): deliver what was buffered,
        publish the join, arm its expiry check."""
        for pub, position in sub.take_buffer():
            if self.state == CLOSED or sub.state is not SUBSCRIBED:
                return
            self.deliver(sub, pub, position)
        if sub.options.join_leave:
            self.node.spawn(self.node.publish_join(sub.channel, self.client_info(sub.channel)))
        self.schedule_sub_expiry_check(sub)

    def extend_subscription(
        self, sub: ChannelSub, expire_at: int, chan_info: bytes | None = None
    ) -> None:
        """A sub_refresh was accepted: ``expire_at`` (0: never) replaces the expiry, and
        ``chan_info`` the channel info when given (server-side refresh)."""
        sub.options.expire_at = expire_at
        if chan_info is not None:
            sub.options.chan_info = chan_info
        self.schedule_sub_expiry_check(sub)

    def refresh_credentials(
        self, *, expire_at: int, info: bytes | None = None, meta: bytes | None = None
    ) -> None:
        """A refresh was accepted (client command or server API): new expiry (0: none), and
        info / meta when given; the expiry check is re-armed."""
        if info is not None:
            self.info = info
        if meta is not None:
            self.meta = meta
        self.expire_at = expire_at
        self.schedule_expiry_check()

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

    async def subscribe_server_side(self, channel: str, opts: SubscriptionOptions) -> None:
        """Subscribe this connection to ``channel`` for the server (server API subscribe):
        the same subscription code as a client subscribe, announced with a ``subscribe``
        push.  More subscriptions than ``client_channel_limit`` disconnect with 3505, an
        engine failure with 3004, data a JSON client cannot take with 3506."""
        if self.state != CONNECTED or channel in self.subs:
            return
        limit = self.node.config.client_channel_limit
        if limit > 0 and len(self.subs) >= limit:
            self.disconnect(c.DISCONNECT_CHANNEL_LIMIT)
            return
        try:
            sub, result = await subscribe_channel(
                self, channel, opts, server_side=True, recover_since=opts.recover_since
            )
        except c.ReplyError:
            self.disconnect(c.DISCONNECT_SERVER_ERROR)
            return
        except c.DisconnectError as e:  # 3004 (broker), or 3506: data a JSON client cannot take
            self.disconnect(e.disconnect)
            return
        if self.state != CONNECTED:
            return
        self.write_push(
            m.Push(
                channel=channel,
                subscribe=m.Subscribe(
                    recoverable=result.recoverable,
                    epoch=result.epoch,
                    offset=result.offset,
                    positioned=result.positioned,
                    data=result.data,
                ),
            )
        )
        self.activate(sub)

    def refresh_server_side(self, *, expired: bool, expire_at: int, info: bytes) -> None:
        """Server API refresh: ``expired`` disconnects with 3005; otherwise the new expiry
        (0: none) and ``info`` (when not empty) are applied and a ``refresh`` push sent."""
        if expired:
            self.disconnect(c.DISCONNECT_EXPIRED)
            return
        self.refresh_credentials(expire_at=expire_at, info=info or None)
        expires = expire_at > 0
        ttl = ttl_of(expire_at) if expires else 0
        self.write_push(m.Push(refresh=m.Refresh(expires=expires, ttl=ttl)))

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
        self.node.pings.discard(self)
        code = d.code
        transport = self.transport
        if d.discards_queue:
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
        if not d.peer_gone:
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
