"""The node: owns the hub, the engine, timers and the control plane.

Every publication, whatever its source (client, HTTP/gRPC API, another node via the broker),
reaches subscribers through ``handle_publication`` -> ``Hub.broadcast_publication``.
User operations of the server API (subscribe, unsubscribe, disconnect, refresh) are
``users.Users``; node-to-node messages, the node registry and surveys are ``cluster.Cluster``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any

from ..protocol import codes as c
from ..protocol import control
from .broker_subs import BrokerSubscriptions
from .client import ClientSession
from .cluster import OP_EMULATION, Cluster
from .config import NodeConfig
from .engine import (
    Broker,
    ClientInfo,
    EngineError,
    HistoryQuery,
    PresenceManager,
    Publication,
    PublishOptions,
    PublishOutcome,
    PublishRun,
    StreamPosition,
)
from .hooks import ClientHooks
from .hub import Hub
from .metrics import NodeMetrics, NullMetrics
from .observers import ChannelObserver, Observers
from .pings import PingSchedule
from .process import ProcessSampler
from .state import CONNECTED
from .subscription import ChannelSub
from .timers import TimerWheel
from .users import Users
from .wire import json_checked
from .writer import FlushLoop

log = logging.getLogger("gyre.node")


class Node:
    """One server process's view of the cluster."""

    def __init__(
        self,
        *,
        config: NodeConfig,
        broker: Broker,
        presence: PresenceManager,
        hooks: ClientHooks,
        metrics: NodeMetrics | None = None,
    ) -> None:
        self.config = config
        self.broker = broker
        self.presence = presence
        self.hooks = hooks
        self.metrics: NodeMetrics = metrics or NullMetrics()
        self.id = str(uuid.uuid4())
        self.name = config.name or f"{socket.gethostname()}_{os.getpid()}"
        self.version = config.version
        self.hub = Hub()
        # counting per tick is skipped entirely when metrics are off
        self.flush_loop = FlushLoop(None if metrics is None else self.metrics.transport_sent)
        self.timers = TimerWheel()
        self.pings = PingSchedule(config.ping_interval, config.pong_timeout)
        self.cluster = Cluster(self)
        self.users = Users(self)
        self.observers = Observers()
        self.process = ProcessSampler()
        # publications this node handed to the broker / got from it (``info`` metrics items)
        self.num_published = 0
        self.num_received = 0
        self.started_at = time.time()
        self.shutting_down = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._periodic_task: asyncio.Task[Any] | None = None
        self.broker_subs = BrokerSubscriptions(
            broker, subscribers=self._listeners, timers=self.timers, spawn=self.spawn
        )
        self._clients: set[ClientSession] = set()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        set_cb = getattr(self.broker, "set_reconnect_callback", None)
        if set_cb is not None:
            # PUB/SUB came back: publications may have been lost meanwhile
            # (docs/protocol.md#positioning-and-recovery)
            set_cb(lambda: self.spawn(self.check_positions()))
        await self.broker.start(self, self.id)
        self.timers.start()
        self.pings.start()
        self.cluster.nodes[self.id] = self.cluster.self_info()
        self._periodic_task = self.spawn(self._periodic(), name="gyre-periodic")

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Disconnect every client with 3001, wait (at most ``timeout`` seconds) for the work
        that started (leaves, presence removal, and whatever that work starts in turn), then
        stop everything (``close``)."""
        self.shutting_down = True
        self.observers.close_all()
        for client in list(self._clients):
            client.disconnect(c.DISCONNECT_SHUTDOWN)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        keep = {asyncio.current_task(), self._periodic_task}
        while (pending := {t for t in self._tasks - keep if not t.done()}) and (
            left := deadline - loop.time()
        ) > 0:
            await asyncio.wait(pending, timeout=left)
        await self.close()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.cluster.announce_shutdown(), 1.0)
        except Exception as e:
            log.debug("shutdown announcement failed: %s", e)
        await self.timers.close()
        self.pings.close()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.broker.close()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; the node cancels and awaits it on close."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def _periodic(self) -> None:
        interval = self.config.client_presence_update_interval
        info_interval = self.config.node_info_interval
        next_presence = time.monotonic() + interval
        next_position_check = time.monotonic() + self.config.client_channel_position_check_delay
        while True:
            await asyncio.sleep(min(info_interval, interval))
            try:
                await self.cluster.publish_node_info()
            except Exception as e:  # engine down: keep going
                log.debug("node info publish failed: %s", e)
            now = time.monotonic()
            if now >= next_presence:
                next_presence = now + interval
                await self._refresh_presence()
                if now >= next_position_check:
                    next_position_check = now + self.config.client_channel_position_check_delay
                    await self.check_positions()

    async def _refresh_presence(self) -> None:
        for client in list(self._clients):
            if client.state is not CONNECTED:
                continue
            for sub in list(client.subs.values()):
                if sub.options.presence:
                    try:
                        await self.presence.add_presence(
                            sub.channel, client.id, client.client_info(sub.channel)
                        )
                    except Exception as e:
                        log.debug("presence refresh failed: %s", e)

    async def check_positions(self, grace: float = 1.0) -> None:
        """Compare positioned subscriptions with their stream tops
        (docs/protocol.md#positioning-and-recovery).

        A subscriber behind the top or on another epoch has lost publications: client-side
        subscriptions get unsubscribe 2500, server-side ones disconnect 3010.  Also called
        after the broker reconnects (messages may have been lost meanwhile).
        """
        tops: dict[str, StreamPosition | None] = {}
        suspects: list[tuple[ChannelSub, StreamPosition]] = []
        for channel, subs in list(self.hub.channels.items()):
            positioned = [s for s in subs.values() if s.options.positioned and s.buffer is None]
            if not positioned:
                continue
            if channel not in tops:
                meta_ttl = self.hooks.publish_options(channel).history_meta_ttl
                try:
                    res = await self.broker.history(
                        channel, HistoryQuery(limit=0, meta_ttl=meta_ttl)
                    )
                    tops[channel] = res.position
                except Exception as e:
                    log.debug("position check of %s failed: %s", channel, e)
                    tops[channel] = None
            top = tops[channel]
            if top is None:
                continue
            suspects.extend((sub, top) for sub in positioned if sub.behind(top))
        if not suspects:
            return
        # a publication may be stored but still on its way through PUB/SUB: look again later
        await asyncio.sleep(grace)
        for sub, top in suspects:
            client = sub.client
            if client.state is not CONNECTED or client.subs.get(sub.channel) is not sub:
                continue
            if sub.behind(top):
                client.position_lost(sub)

    def _listeners(self, channel: str) -> int:
        """Who needs the broker to deliver ``channel`` here: local subscribers and observers."""
        return self.hub.num_subscribers(channel) + self.observers.watched(channel)

    def registry_sizes(self) -> dict[str, int]:
        """Size of every node structure that grows with connections, subscriptions or
        channels; each is back to its idle size once those are gone (leak tests, soak)."""
        return {
            "timers": len(self.timers),
            "pings": len(self.pings),
            "clients": len(self._clients),
            "hub.conns": len(self.hub.conns),
            "hub.users": len(self.hub.users),
            "hub.sessions": len(self.hub.sessions),
            "hub.channels": len(self.hub.channels),
            **self.broker_subs.sizes(),
            "tasks": len(self._tasks),
            "surveys": self.cluster.pending_surveys(),
            **self.flush_loop.sizes(),
        }

    # --- metrics helpers ------------------------------------------------------------------

    @staticmethod
    def metrics_clock() -> float:
        return time.perf_counter()

    def observe_command(self, method: str, started: float, error: c.ErrorCode | None) -> None:
        self.metrics.command(method, time.perf_counter() - started, error.code if error else 0)

    def observe_recover(self, recovered: bool) -> None:
        self.metrics.recover(recovered)

    # --- client bookkeeping ---------------------------------------------------------------

    def on_client_created(self, client: ClientSession) -> None:
        self._clients.add(client)

    def on_client_connected(self, client: ClientSession) -> None:
        via = client.transport.name
        fields = {"client": client.id, "user": client.user, "transport": via}
        log.info("client %s user %r connected via %s", client.id, client.user, via, extra=fields)
        self.metrics.connect(client.transport.name)
        self.metrics.inc_action("add_client")

    def on_client_closed(
        self, client: ClientSession, d: c.DisconnectCode, was_connected: bool
    ) -> None:
        self._clients.discard(client)
        self.hub.remove_connection(client)
        if was_connected:
            self.metrics.inc_action("remove_client")
        if d.code != c.DISCONNECT_CONNECTION_CLOSED.code:
            self.metrics.disconnect(d.code)
        subs = list(client.subs.values())
        client.subs.clear()
        if not subs:
            return
        for sub in subs:
            if self.hub.remove_subscriber(sub.channel, client.id):
                self.broker_subs.release(sub.channel)
        self.spawn(self._cleanup_subs(client, subs))

    async def _cleanup_subs(self, client: ClientSession, subs: list[ChannelSub]) -> None:
        for sub in subs:
            try:
                await self._leave(client, sub, leave=True)
            except Exception as e:
                log.debug("cleanup of %s failed: %s", sub.channel, e)

    async def _leave(self, client: ClientSession, sub: ChannelSub, *, leave: bool) -> None:
        """Remove ``sub``'s presence entry and publish its leave (``leave``: when it has one).

        The subscription is gone from this node already: an engine failure here is logged,
        never raised, so the unsubscribe is answered as done (as v4, which logs a failed
        presence removal and ignores a failed leave).  An error reply would make
        centrifuge-js drop and reconnect the whole connection."""
        if sub.options.presence:
            try:
                await self.presence.remove_presence(sub.channel, client.id)
            except EngineError as e:
                log.debug("presence removal of %s in %s failed: %s", client.id, sub.channel, e)
        if leave and sub.options.join_leave and sub.buffer is None:
            try:
                await self.publish_leave(sub.channel, client.client_info_for(sub))
            except EngineError as e:
                log.debug("leave of %s in %s failed: %s", client.id, sub.channel, e)

    # --- subscriptions --------------------------------------------------------------------

    async def add_subscription(self, client: ClientSession, sub: ChannelSub) -> None:
        """Register ``sub`` in the hub, make sure the broker delivers its channel, add presence.

        Only a live subscription is registered: one its client no longer holds (the client
        closed or unsubscribed, possibly while this awaited the engine) leaves nothing in the
        hub or in presence.
        """
        if client.closed or client.subs.get(sub.channel) is not sub:
            return
        self.hub.add_subscriber(sub)
        self.metrics.inc_action("add_subscription")
        await self.broker_subs.ensure(sub.channel)
        if sub.options.presence and client.subs.get(sub.channel) is sub:
            await self.presence.add_presence(sub.channel, client.id, client.client_info_for(sub))
            if client.subs.get(sub.channel) is not sub:  # removed meanwhile: its cleanup
                await self.presence.remove_presence(sub.channel, client.id)  # may have run

    async def remove_subscription(
        self, client: ClientSession, sub: ChannelSub, *, leave: bool = True
    ) -> None:
        if self.hub.remove_subscriber(sub.channel, client.id):
            self.broker_subs.release(sub.channel)
        self.metrics.inc_action("remove_subscription")
        await self._leave(client, sub, leave=leave)

    # --- server-side observers (see observers.py) ------------------------------------------

    async def observe(self, channel: str, observer: ChannelObserver) -> None:
        """Start giving ``observer`` the publications, joins and leaves of ``channel`` that
        reach this node; returns once the broker delivers the channel here (raises the
        broker's error, with nothing registered, when it cannot)."""
        self.observers.add(channel, observer)
        try:
            await self.broker_subs.ensure(channel)
        except BaseException:
            self.unobserve(channel, observer)
            raise

    def unobserve(self, channel: str, observer: ChannelObserver) -> None:
        """Stop ``observe``; the broker subscription goes when nobody needs it (>= 1 s)."""
        if self.observers.remove(channel, observer):
            self.broker_subs.release(channel)

    # --- publishing -----------------------------------------------------------------------

    async def publish(
        self, channel: str, pubs: Sequence[Publication], opts: PublishOptions
    ) -> list[PublishOutcome]:
        """Publish ``pubs`` into ``channel`` in order, as ONE broker call (a single publish is
        the one-item case); one outcome per publication (see ``Broker.publish``).  ``opts``
        come complete from the policy (size, ttl and meta ttl)."""
        self._entering(((channel, pubs, opts),))
        return await self.broker.publish(channel, pubs, opts)

    async def publish_many(
        self, runs: Sequence[PublishRun]
    ) -> list[list[PublishOutcome] | Exception]:
        """``publish`` of each run in turn (a run is ``(channel, pubs, opts)``) as ONE broker
        call (``Broker.publish_many``): one list of outcomes per run, or the exception the
        whole run failed with (the following runs still go)."""
        self._entering(runs)
        return await self.broker.publish_many(runs)

    def _entering(self, runs: Iterable[PublishRun]) -> None:
        """Where publications enter: each one's JSON check (``wire.json_checked``), the
        namespace's delta mark (``opts.delta_publish`` sets ``Publication.delta``,
        docs/beyond_v4.md) and the sent counters."""
        n = 0
        for _, pubs, opts in runs:
            mark = opts.delta_publish
            for pub in pubs:
                if pub.json_ok is None:  # a broadcast's publications come checked
                    json_checked(pub)
                if mark:
                    pub.delta = True
            n += len(pubs)
        self.metrics.message_sent("publication", n)
        self.num_published += n

    async def publish_join(self, channel: str, info: ClientInfo) -> None:
        self.metrics.message_sent("join")
        await self.broker.publish_join(channel, info)

    async def publish_leave(self, channel: str, info: ClientInfo) -> None:
        self.metrics.message_sent("leave")
        await self.broker.publish_leave(channel, info)

    async def history(
        self,
        channel: str,
        *,
        limit: int,
        since: StreamPosition | None,
        reverse: bool,
    ) -> tuple[list[Publication], StreamPosition]:
        """Read history; raises ReplyError(112) when ``since.epoch`` is not the stream's epoch."""
        meta_ttl = self.hooks.publish_options(channel).history_meta_ttl
        self.metrics.inc_action("history")
        res = await self.broker.history(
            channel, HistoryQuery(since=since, limit=limit, reverse=reverse, meta_ttl=meta_ttl)
        )
        if since is not None and since.epoch and since.epoch != res.position.epoch:
            raise c.ReplyError(c.ERROR_UNRECOVERABLE_POSITION)
        return res.publications, res.position

    # --- BrokerEventHandler ---------------------------------------------------------------

    def handle_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        self.metrics.message_received("publication")
        self.num_received += 1
        self.hub.broadcast_publication(channel, pub, position)
        if self.observers.by_channel:
            self.observers.publication(channel, pub, position)

    def handle_publications(
        self,
        channel: str,
        pubs: Sequence[Publication],
        positions: Sequence[StreamPosition] | None,
    ) -> None:
        self.metrics.message_received("publication", len(pubs))
        self.num_received += len(pubs)
        self.hub.broadcast_publications(channel, pubs, positions)
        if self.observers.by_channel:
            self.observers.publications(channel, pubs, positions)

    def handle_join(self, channel: str, info: ClientInfo) -> None:
        self.metrics.message_received("join")
        self.hub.broadcast_join(channel, info)
        if self.observers.by_channel:
            self.observers.join(channel, info)

    def handle_leave(self, channel: str, info: ClientInfo) -> None:
        self.metrics.message_received("leave")
        self.hub.broadcast_leave(channel, info)
        if self.observers.by_channel:
            self.observers.leave(channel, info)

    def handle_control(self, data: bytes) -> None:
        self.metrics.message_received("control")
        self.cluster.handle(data)

    # --- emulation (http_stream / sse commands posted to /emulation) ----------------------

    async def emulate(self, node_id: str, session: str, data: bytes) -> bool:
        """Hand commands posted to /emulation to the connection with ``session``.

        ``data`` is command bytes in that connection's encoding (JSON text or varint-framed
        protobuf).  Returns False when ``node_id`` is not a live node (HTTP 404); commands for
        an unknown session are dropped, as in v4 (the request still succeeds).  Raises
        ``SurveyError`` when the owning node does not answer in time (HTTP 500).
        """
        if not node_id or node_id == self.id:
            await self.handle_emulation(session, data)
            return True
        if not self.cluster.is_live(node_id):
            return False
        payload = control.encode_emulation_request(node_id, session, data)
        await self.cluster.survey(OP_EMULATION, payload, node_id)
        return True

    async def handle_emulation(self, session: str, data: bytes) -> bool:
        """Feed ``data`` to the local emulation connection ``session``; False if there is none."""
        client = self.hub.sessions.get(session)
        if client is None or client.closed or not client.transport.emulation:  # uni ids are public
            return False
        await client.handle_data_serialized(data)
        return True
