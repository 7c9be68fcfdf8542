"""A connection's lifetime bounds everything it registers (timers, hub, presence, broker).

Closing releases every timer at once; a connection that closes while one of its commands
awaits the engine or the token check gets nothing registered afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.app import node_config
from service.auth import generate_token
from service.core.client import CLOSED, ClientSession
from service.core.node import Node
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.policy.hooks import CentrifugoHooks
from service.protocol import messages as m
from service.protocol.codes import DISCONNECT_FORCE_NO_RECONNECT

from .harness import SECRET, client, make_config, send

DAY = 86400
NS = {
    "name": "chat",
    "allow_subscribe_for_client": True,
    "presence": True,
    "join_leave": True,
    "history_size": 10,
    "history_ttl": "300s",
}


class Gate:
    """An awaitable point a test opens when it wants the waiting coroutine to go on."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.open = asyncio.Event()
        self.closed_gate = True

    async def passing(self) -> None:
        if self.closed_gate:
            self.reached.set()
            await self.open.wait()


class GatedBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__()
        self.gate = Gate()
        self.gate.closed_gate = False

    async def subscribe(self, channel: str) -> None:
        await self.gate.passing()
        await super().subscribe(channel)


class GatedHooks(CentrifugoHooks):
    gate: Gate | None = None

    async def connect(self, client: ClientSession, req: m.ConnectRequest) -> Any:
        if self.gate is not None:
            await self.gate.passing()
        return await super().connect(client, req)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    cfg = make_config(tmp_path, namespaces=[NS], ping_interval="25s")
    n = Node(
        config=node_config(cfg),
        broker=GatedBroker(),
        presence=MemoryPresenceManager(presence_ttl=cfg.presence_ttl),
        hooks=GatedHooks(cfg),
    )
    await n.start()
    yield n
    await n.close()


def token(user: str, **extra: Any) -> str:
    return generate_token(secret=SECRET, user=user, ttl=DAY, extra=dict(extra) or None)


def sub_token(user: str, channel: str) -> str:
    return generate_token(secret=SECRET, user=user, ttl=DAY, channel=channel)


def broker(node: Node) -> GatedBroker:
    assert isinstance(node.broker, GatedBroker)
    return node.broker


def presence_entries(node: Node) -> int:
    assert isinstance(node.presence, MemoryPresenceManager)
    return node.presence.num_entries()


async def test_close_releases_every_timer_and_the_session(node: Node) -> None:
    idle = len(node.timers)
    c, _t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u")}})
    await send(c, {"id": 2, "subscribe": {"channel": "chat:a", "token": sub_token("u", "chat:a")}})
    # stale check, connection expiry, subscription expiry; pings are in the node's schedule
    assert len(c.timers) == 3 and len(node.timers) == idle + 3
    assert len(node.pings) == 1
    ref = weakref.ref(c)
    c.disconnect(DISCONNECT_FORCE_NO_RECONNECT)
    # at once, not when the day-long tokens expire; what is left is the node's deferred
    # broker unsubscribe of the channel (due in 1 s)
    assert len(c.timers) == 0 and len(node.timers) == idle + 1
    assert len(node.pings) == 0
    await asyncio.sleep(0.05)  # background cleanup of the subscription
    del c, _t
    gc.collect()
    assert ref() is None


async def test_resubscribes_and_refreshes_do_not_pile_up_timers(node: Node) -> None:
    c, _t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u")}})
    base = len(c.timers)
    for i in range(50):
        ch = f"chat:{i}"
        await send(c, {"id": 2 + 2 * i, "subscribe": {"channel": ch, "token": sub_token("u", ch)}})
        await send(c, {"id": 3 + 2 * i, "unsubscribe": {"channel": ch}})
        await send(c, {"id": 200 + i, "refresh": {"token": token("u")}})
    assert not c.closed and not c.subs
    assert len(c.timers) == base  # unsubscribed channels took their expiry timer along
    await send(
        c, {"id": 999, "subscribe": {"channel": "chat:x", "token": sub_token("u", "chat:x")}}
    )
    assert len(c.timers) == base + 1


async def test_close_during_the_token_check_registers_nothing(node: Node) -> None:
    assert isinstance(node.hooks, GatedHooks)
    node.hooks.gate = gate = Gate()
    idle = len(node.timers)
    c, _t = client(node)
    connecting = asyncio.create_task(
        send(c, {"id": 1, "connect": {"token": token("u", channels=["chat:tok"])}})
    )
    await gate.reached.wait()
    c.on_transport_closed()  # the peer leaves while its token is being verified
    gate.open.set()
    assert await connecting is False
    assert c.state == CLOSED
    assert not node.hub.conns and not node.hub.users and not node.hub.channels
    assert len(node.timers) <= idle and len(c.timers) == 0


async def test_close_during_a_server_side_subscribe_registers_nothing(node: Node) -> None:
    b = broker(node)
    b.gate.closed_gate = True
    c, _t = client(node)
    connecting = asyncio.create_task(
        send(c, {"id": 1, "connect": {"token": token("u", channels=["chat:a", "chat:b"])}})
    )
    await b.gate.reached.wait()  # subscribing chat:a on the broker
    c.on_transport_closed()
    b.gate.open.set()
    assert await connecting is False
    await asyncio.sleep(0.05)
    assert not node.hub.conns and not node.hub.channels
    assert "chat:b" not in b.channels  # never subscribed: the client was gone
    assert presence_entries(node) == 0
    await asyncio.sleep(1.4)  # the deferred broker unsubscribe (>= 1 s) of chat:a
    assert b.channels == frozenset()
    assert node.registry_sizes()["broker_subscribed"] == 0


async def test_broker_subscription_that_outlived_its_subscriber_is_dropped(node: Node) -> None:
    """The last subscriber leaves while the broker subscription is in flight, and the
    deferred unsubscribe looks before it completed: the channel is still unsubscribed."""
    b = broker(node)
    b.gate.closed_gate = True
    c, _t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u")}})
    subscribing = asyncio.create_task(
        send(c, {"id": 2, "subscribe": {"channel": "chat:a", "token": sub_token("u", "chat:a")}})
    )
    await b.gate.reached.wait()
    c.on_transport_closed()
    await asyncio.sleep(1.4)  # the deferred check ran while the subscribe was pending
    b.gate.open.set()
    await subscribing
    assert b.channels == frozenset({"chat:a"})
    await asyncio.sleep(1.4)
    assert b.channels == frozenset()
    assert presence_entries(node) == 0 and not node.hub.channels
