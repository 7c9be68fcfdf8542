"""A run of publications (``Node.publish_many`` / ``Executor.publish_many``) behaves exactly
like consecutive single publishes: same deliveries, positions, errors and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.api import messages as a
from service.api.executor import NO_POSITION, Executor
from service.auth import generate_token
from service.core.engine import PublishOptions, StreamPosition
from service.core.node import Node

from .harness import SECRET, client, make_config, make_node, send

HISTORY = PublishOptions(history_size=10, history_ttl=300)
NS = {
    "name": "chat",
    "history_size": 10,
    "history_ttl": "300s",
    "allow_recovery": True,
    "allow_subscribe_for_client": True,
}
PLAIN = {"name": "plain", "allow_subscribe_for_client": True}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    cfg = make_config(tmp_path, namespaces=[NS, PLAIN])
    n = await make_node(cfg)
    yield n
    await n.close()


def token(user: str) -> str:
    return generate_token(secret=SECRET, user=user, ttl=3600)


async def subscriber(node: Node, channel: str, **sub: Any) -> tuple[Any, Any]:
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token("u")}},
        {"id": 2, "subscribe": {"channel": channel, **sub}},
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    return c, t


def received(t: Any, channel: str) -> list[dict[str, Any]]:
    """Pushes after the subscribe reply, with the channel name left out."""
    out = []
    for m in t.messages():
        push = m.get("push")
        if push is not None and push.get("channel") == channel:
            out.append({k: v for k, v in push.items() if k != "channel"})
    return out


@pytest.mark.parametrize("recoverable", [False, True])
async def test_run_delivers_what_single_publishes_deliver(node: Node, recoverable: bool) -> None:
    datas = [b'{"n":%d}' % i for i in range(5)]
    _, ta = await subscriber(node, "chat:run", recoverable=recoverable)
    _, tb = await subscriber(node, "chat:single", recoverable=recoverable)
    run = await node.publish_many("chat:run", datas, opts=HISTORY)
    single = [await node.publish("chat:single", d, opts=HISTORY) for d in datas]
    assert [p.offset for p in run if isinstance(p, StreamPosition)] == [1, 2, 3, 4, 5]
    assert [p.offset for p in single if p is not None] == [1, 2, 3, 4, 5]
    await ta.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    await tb.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    assert received(ta, "chat:run") == received(tb, "chat:single")
    assert [p["pub"]["data"] for p in received(ta, "chat:run")] == [{"n": i} for i in range(5)]


async def test_position_gap_inside_a_run_unsubscribes_once(node: Node) -> None:
    """A recoverable subscription that lost a publication is unsubscribed (2500) at the
    first publication of the run, and gets none of the rest: as with single publishes."""
    ca, ta = await subscriber(node, "chat:gap-run", recoverable=True)
    cb, tb = await subscriber(node, "chat:gap-single", recoverable=True)
    await node.publish("chat:gap-run", b"{}", opts=HISTORY)
    await node.publish("chat:gap-single", b"{}", opts=HISTORY)
    ca.subs["chat:gap-run"].offset = 0  # as if that delivery had been lost
    cb.subs["chat:gap-single"].offset = 0
    await node.publish_many("chat:gap-run", [b"1", b"2", b"3"], opts=HISTORY)
    for d in (b"1", b"2", b"3"):
        await node.publish("chat:gap-single", d, opts=HISTORY)
    await ta.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    await tb.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    assert received(ta, "chat:gap-run") == received(tb, "chat:gap-single")
    run = received(ta, "chat:gap-run")
    assert [p for p in run if "unsubscribe" in p] == [
        {"unsubscribe": {"code": 2500, "reason": "insufficient state"}}
    ]
    assert [p["pub"]["offset"] for p in run if "pub" in p] == [1]


async def test_executor_publish_many_results_errors_and_metrics(node: Node) -> None:
    seen: list[tuple[str, str, float, int]] = []

    def observe(protocol: str, method: str, seconds: float, count: int = 1) -> None:
        seen.append((protocol, method, seconds, count))

    ex = Executor(node, node.hooks, observe=observe)  # type: ignore[arg-type]
    _, t = await subscriber(node, "plain:p")

    out = await ex.publish_many("chat:h", [b"1", b"2", b"3"], "grpc")
    assert [(r.offset, bool(r.epoch)) for r in out if isinstance(r, a.PublishResult)] == [
        (1, True),
        (2, True),
        (3, True),
    ]
    assert await ex.publish_many("plain:p", [b'"x"', b'"y"']) == [NO_POSITION, NO_POSITION]
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("data") == "y")

    unknown = await ex.publish_many("nowhere:x", [b"1", b"2"])
    assert unknown == [a.Error(code=102, message="unknown channel")] * 2
    assert await ex.publish_many("", [b"1"]) == [a.Error(code=107, message="bad request")]

    assert [(p, m, n) for p, m, _, n in seen] == [
        ("grpc", "publish", 3),
        ("grpc", "publish", 2),
        ("grpc", "publish", 2),
        ("grpc", "publish", 1),
    ]
    assert all(s >= 0 for _, _, s, _ in seen)


async def test_executor_publish_many_of_nothing(node: Node) -> None:
    ex = Executor(node, node.hooks)  # type: ignore[arg-type]
    assert await ex.publish_many("chat:h", []) == []
