"""Server-side channel observers (the admin live view's hook into the node)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.auth import generate_token
from service.core.engine import ClientInfo, Publication, PublishOptions, StreamPosition
from service.core.node import Node
from service.engines.memory import MemoryBroker
from tests.publishing import publish_one

from .harness import SECRET, client, make_config, make_node, send

NS = {
    "name": "chat",
    "allow_subscribe_for_client": True,
    "presence": True,
    "join_leave": True,
    "history_size": 10,
    "history_ttl": "300s",
}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await make_node(make_config(tmp_path, namespaces=[NS]))
    yield n
    await n.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def on_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        self.events.append(("publication", channel, (pub.data, pub.offset, position)))

    def on_join(self, channel: str, info: ClientInfo) -> None:
        self.events.append(("join", channel, info.user))

    def on_leave(self, channel: str, info: ClientInfo) -> None:
        self.events.append(("leave", channel, info.user))

    def on_close(self) -> None:
        self.events.append(("close", "", None))


class Broken(Recorder):
    def on_publication(
        self, channel: str, pub: Publication, position: StreamPosition | None
    ) -> None:
        raise RuntimeError("observer bug")


def token(user: str) -> str:
    return generate_token(secret=SECRET, user=user, ttl=3600)


async def test_observer_sees_publications_joins_and_leaves_of_its_channel(node: Node) -> None:
    rec = Recorder()
    await node.observe("chat:a", rec)
    with_history = PublishOptions(history_size=10, history_ttl=300)
    await publish_one(node, "chat:a", b'{"n":1}', with_history)
    await publish_one(node, "chat:other", b'{"n":2}', with_history)
    await node.publish("chat:a", [Publication(b'{"n":3}'), Publication(b'{"n":4}')], with_history)
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u1")}})
    await send(c, {"id": 2, "subscribe": {"channel": "chat:a"}})
    await t.wait_for(lambda m: m.get("id") == 2)
    await send(c, {"id": 3, "unsubscribe": {"channel": "chat:a"}})
    await t.wait_for(lambda m: m.get("id") == 3)
    await asyncio.sleep(0)
    kinds = [(k, ch) for k, ch, _ in rec.events]
    assert kinds == [("publication", "chat:a")] * 3 + [("join", "chat:a"), ("leave", "chat:a")]
    datas = [v[0] for k, _, v in rec.events if k == "publication"]
    assert datas == [b'{"n":1}', b'{"n":3}', b'{"n":4}']
    offsets = [v[1] for k, _, v in rec.events if k == "publication"]
    assert offsets == [1, 2, 3]
    assert rec.events[3][2] == rec.events[4][2] == "u1"


async def test_observer_is_not_a_subscriber(node: Node) -> None:
    await node.observe("chat:a", Recorder())
    assert node.hub.num_subscribers("chat:a") == 0
    assert node.cluster.local_channels() == {}
    (me,) = node.cluster.live_nodes()
    assert me.num_channels == 0 and me.num_subs == 0


async def test_failing_observer_does_not_stop_delivery(node: Node) -> None:
    good = Recorder()
    await node.observe("chat:b", Broken())
    await node.observe("chat:b", good)
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u2")}})
    await send(c, {"id": 2, "subscribe": {"channel": "chat:b"}})
    await t.wait_for(lambda m: m.get("id") == 2)
    await publish_one(node, "chat:b", b'{"x":1}', PublishOptions())
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("data") == {"x": 1})
    assert [k for k, _, _ in good.events if k == "publication"] == ["publication"]


async def test_broker_subscription_kept_while_observed(node: Node) -> None:
    broker = node.broker
    assert isinstance(broker, MemoryBroker)
    rec = Recorder()
    await node.observe("chat:c", rec)
    assert "chat:c" in broker.channels
    # the last client subscriber leaves: the observer still needs the channel
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token("u3")}})
    await send(c, {"id": 2, "subscribe": {"channel": "chat:c"}})
    await t.wait_for(lambda m: m.get("id") == 2)
    await send(c, {"id": 3, "unsubscribe": {"channel": "chat:c"}})
    await t.wait_for(lambda m: m.get("id") == 3)
    await asyncio.sleep(1.3)  # past the deferred broker unsubscribe (>= 1 s)
    assert "chat:c" in broker.channels
    node.unobserve("chat:c", rec)
    async with asyncio.timeout(3):
        while "chat:c" in broker.channels:
            await asyncio.sleep(0.05)
    await publish_one(node, "chat:c", b"{}", PublishOptions())
    assert all(k != "publication" for k, _, _ in rec.events)


async def test_failed_broker_subscribe_registers_nothing(tmp_path: Path) -> None:
    class Refusing(MemoryBroker):
        async def subscribe(self, channel: str) -> None:
            raise ConnectionError("engine down")

    node = await make_node(make_config(tmp_path, namespaces=[NS]), broker=Refusing())
    try:
        with pytest.raises(ConnectionError):
            await node.observe("chat:d", Recorder())
        assert not node.observers.watched("chat:d")
    finally:
        await node.close()


async def test_shutdown_tells_observers_at_once(node: Node) -> None:
    """A live view must not wait for its next poll to notice a shutdown: the HTTP server
    gives handlers only a short grace before it drops their connections."""
    rec = Recorder()
    await node.observe("chat:x", rec)
    await node.shutdown(timeout=0.1)
    assert ("close", "", None) in rec.events
