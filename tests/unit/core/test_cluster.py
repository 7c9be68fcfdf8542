"""Two nodes exchanging real controlpb messages through a shared control bus.

The bus stands in for Redis PUB/SUB on the control channels only (the Redis engine tests
cover the real thing); everything else is the memory engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.app import node_config
from service.auth import generate_token
from service.core.engine import Publication, PublishOptions
from service.core.hooks import SubscriptionOptions
from service.core.node import Node
from service.core.node_info import PUBLICATIONS_RECEIVED, PUBLICATIONS_SENT
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.policy.hooks import CentrifugoHooks
from service.protocol import codes as c
from service.protocol import control as ctl
from tests.publishing import publish_one

from .harness import SECRET, client, make_config, send


class BusBroker(MemoryBroker):
    """MemoryBroker whose control messages reach every node on the bus (like P.control)."""

    bus: list[BusBroker]

    async def start(self, handler, node_id):  # type: ignore[no-untyped-def]
        self._handler_ = handler
        self._node_id_ = node_id
        self.bus.append(self)
        await super().start(handler, node_id)

    async def publish_control(self, data: bytes, node_id: str = "") -> None:
        for b in list(self.bus):
            if not node_id or b._node_id_ == node_id:
                loop = asyncio.get_running_loop()
                loop.call_soon(b._handler_.handle_control, data)


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    cfg = make_config(
        tmp_path,
        namespaces=[{"name": "chat", "allow_subscribe_for_client": True}],
    )
    bus: list[BusBroker] = []
    made = []
    for _ in range(2):
        broker = BusBroker()
        broker.bus = bus
        n = Node(
            config=node_config(cfg),
            broker=broker,
            presence=MemoryPresenceManager(),
            hooks=CentrifugoHooks(cfg),
        )
        await n.start()
        made.append(n)
    for n in made:
        await n.cluster.publish_node_info()
    await asyncio.sleep(0.01)
    yield made[0], made[1]
    for n in made:
        await n.close()


async def test_nodes_see_each_other(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    assert {n.uid for n in a.cluster.live_nodes()} == {a.id, b.id}
    assert {n.uid for n in b.cluster.live_nodes()} == {a.id, b.id}


async def test_disconnect_user_reaches_other_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    cl, t = client(b)
    await send(cl, {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="9", ttl=60)}})
    await t.wait_for(lambda m: m.get("id") == 1)
    await a.users.disconnect("9", c.DISCONNECT_FORCE_NO_RECONNECT)
    assert (await t.wait_closed()).code == 3503  # type: ignore[union-attr]


async def test_user_operations_reach_the_session_on_another_node(
    nodes: tuple[Node, Node],
) -> None:
    """API subscribe, refresh and unsubscribe on node a are done on node b by the session's
    own methods: a subscribe push, a refresh push, an unsubscribe push (2000)."""
    a, b = nodes
    cl, t = client(b)
    await send(cl, {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="7", ttl=60)}})
    await t.wait_for(lambda m: m.get("id") == 1)
    await a.users.subscribe("7", "chat:srv", SubscriptionOptions(data=b'{"hi":1}'))
    push = await t.wait_for(lambda m: "subscribe" in m.get("push", {}))
    assert push["push"] == {"channel": "chat:srv", "subscribe": {"data": {"hi": 1}}}
    assert cl.subs["chat:srv"].server_side
    await a.users.refresh("7", expire_at=int(time.time()) + 100)
    push = await t.wait_for(lambda m: "refresh" in m.get("push", {}))
    assert push["push"]["refresh"]["expires"] is True and push["push"]["refresh"]["ttl"] >= 99
    await a.users.unsubscribe("7", "chat:srv", client=cl.id)
    push = await t.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    assert push["push"] == {
        "channel": "chat:srv",
        "unsubscribe": {"code": 2000, "reason": "server unsubscribe"},
    }
    assert "chat:srv" not in cl.subs
    await a.users.subscribe("7", "chat:other", SubscriptionOptions(), session="not-this-one")
    await a.users.subscribe("nobody", "chat:other", SubscriptionOptions())
    await asyncio.sleep(0.05)
    assert "chat:other" not in cl.subs  # targets are found by user, client and session


async def test_channels_survey_sums_over_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    for n, user in ((a, "1"), (b, "2"), (b, "3")):
        cl, t = client(n)
        await send(
            cl,
            {"id": 1, "connect": {"token": generate_token(secret=SECRET, user=user, ttl=60)}},
            {"id": 2, "subscribe": {"channel": "chat:x"}},
        )
        await t.wait_for(lambda m: m.get("id") == 2)
    assert await a.cluster.channels() == {"chat:x": 3}
    assert await b.cluster.channels("chat:*") == {"chat:x": 3}
    assert await a.cluster.channels("other*") == {}


async def test_emulation_routed_to_owning_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    cl, t = client(b)
    await send(cl, {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="5", ttl=60)}})
    await t.wait_for(lambda m: m.get("id") == 1)
    t.emulation = True  # only emulation sessions are fed (issue 13.8)
    b.hub.sessions["sess-1"] = cl  # an emulation transport registers its session like this
    assert await a.emulate(b.id, "sess-1", b'{"id":2,"subscribe":{"channel":"chat:e"}}')
    await t.wait_for(lambda m: m.get("id") == 2)
    assert not await a.emulate("no-such-node", "sess-1", b"{}")


async def test_nodes_share_process_stats_and_publication_counters(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    await publish_one(a, "chat:x", b"{}", PublishOptions())
    await a.publish("chat:x", [Publication(b"{}"), Publication(b"{}")], PublishOptions())
    await a.cluster.publish_node_info()
    await asyncio.sleep(0.01)
    seen = {n.uid: n for n in b.cluster.live_nodes()}[a.id]
    assert seen.metrics[PUBLICATIONS_SENT] == 3
    assert seen.metrics[PUBLICATIONS_RECEIVED] == 3  # the memory broker hands them back
    assert 0 < seen.metrics_interval < 60
    assert seen.process is not None and seen.process.rss > 1_000_000
    assert seen.process.cpu >= 0


async def test_foreign_node_data_is_ignored(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    a.handle_control(ctl.encode("peer", ctl.NodeInfo(uid="peer", name="p", data=b"\x00junk")))
    (peer,) = [n for n in a.cluster.live_nodes() if n.uid == "peer"]
    assert peer.name == "p" and peer.process is None and peer.metrics == {}


async def test_server_side_subscribe_with_binary_data_to_a_json_client_3506(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    cl, t = client(b)
    await send(cl, {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="8", ttl=60)}})
    await t.wait_for(lambda m: m.get("id") == 1)
    await a.users.subscribe("8", "chat:bin", SubscriptionOptions(data=b"\xff\x00not json"))
    assert (await t.wait_closed()).code == 3506  # type: ignore[union-attr]
