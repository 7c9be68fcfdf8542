"""Two nodes exchanging real controlpb messages through a shared control bus.

The bus stands in for Redis PUB/SUB on the control channels only (the Redis engine tests
cover the real thing); everything else is the memory engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.app import node_config
from service.auth import generate_token
from service.core.engine import PublishOptions
from service.core.node import Node
from service.core.node_info import PUBLICATIONS_RECEIVED, PUBLICATIONS_SENT
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.policy.hooks import CentrifugoHooks
from service.protocol import codes as c
from service.protocol import control as ctl

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
    assert {n.uid for n in a.info()} == {a.id, b.id}
    assert {n.uid for n in b.info()} == {a.id, b.id}


async def test_disconnect_user_reaches_other_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    cl, t = client(b)
    await send(cl, {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="9", ttl=60)}})
    await t.wait_for(lambda m: m.get("id") == 1)
    await a.disconnect_user("9", c.DISCONNECT_FORCE_NO_RECONNECT)
    assert (await t.wait_closed()).code == 3503  # type: ignore[union-attr]


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
    assert await a.cluster_channels() == {"chat:x": 3}
    assert await b.cluster_channels("chat:*") == {"chat:x": 3}
    assert await a.cluster_channels("other*") == {}


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
    await a.publish("chat:x", b"{}", opts=PublishOptions())
    await a.publish_many("chat:x", [b"{}", b"{}"], opts=PublishOptions())
    await a.cluster.publish_node_info()
    await asyncio.sleep(0.01)
    seen = {n.uid: n for n in b.info()}[a.id]
    assert seen.metrics[PUBLICATIONS_SENT] == 3
    assert seen.metrics[PUBLICATIONS_RECEIVED] == 3  # the memory broker hands them back
    assert 0 < seen.metrics_interval < 60
    assert seen.process is not None and seen.process.rss > 1_000_000
    assert seen.process.cpu >= 0


async def test_foreign_node_data_is_ignored(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    a.handle_control(ctl.encode("peer", ctl.NodeInfo(uid="peer", name="p", data=b"\x00junk")))
    (peer,) = [n for n in a.info() if n.uid == "peer"]
    assert peer.name == "p" and peer.process is None and peer.metrics == {}
