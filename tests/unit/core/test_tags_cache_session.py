"""Tags filters and cache recovery in the core (docs/beyond_v4.md#tags-filter,
docs/beyond_v4.md#cache-recovery)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.core import tags_filter
from service.core.node import Node

from .beyond_harness import beyond_node, connected, publish, pushes, token
from .harness import RecordingTransport, client, send

AAPL = {"key": "ticker", "cmp": "eq", "val": "AAPL"}
EXPENSIVE = {"key": "price", "cmp": "gt", "val": "100"}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async for n in beyond_node(tmp_path):
        yield n


async def subscribe(c: Any, t: RecordingTransport, channel: str, **extra: Any) -> dict[str, Any]:
    await send(c, {"id": 2, "subscribe": {"channel": channel, **extra}})
    return dict(await t.wait_for(lambda m: m.get("id") == 2))


async def test_filter_delivers_only_matching(node: Node) -> None:
    a, ta = await connected(node)
    b, tb = await connected(node)
    both, tboth = await connected(node)
    everyone, tall = await connected(node)
    await subscribe(a, ta, "tags:q", tf=AAPL, positioned=True)
    await subscribe(b, tb, "tags:q", tf=AAPL)
    await subscribe(both, tboth, "tags:q", tf={"op": "and", "nodes": [AAPL, EXPENSIVE]})
    await subscribe(everyone, tall, "tags:q")
    sent = [
        ({"ticker": "AAPL", "price": "150.25"}, 1),
        ({"ticker": "MSFT", "price": "300"}, 2),
        ({"ticker": "AAPL", "price": "99.5"}, 3),
        (None, 4),  # a client-style publication: no tags
        ({"ticker": "AAPL", "price": "101"}, 5),
    ]
    for tags, n in sent:
        await publish(node, "tags:q", b'{"n":%d}' % n, tags=tags)
    await tall.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    await ta.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    assert [p["data"]["n"] for p in pushes(ta)] == [1, 3, 5]
    assert [p["data"]["n"] for p in pushes(tb)] == [1, 3, 5]
    assert [p["data"]["n"] for p in pushes(tboth)] == [1, 5]
    assert [p["data"]["n"] for p in pushes(tall)] == [1, 2, 3, 4, 5]
    # the positioned filtered subscription was never unsubscribed for the filter's gaps
    assert not [m for m in ta.messages() if "unsubscribe" in m.get("push", {})]
    assert a.subs["tags:q"].offset == 5


async def test_each_distinct_filter_evaluated_once_per_publication(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    real = tags_filter.TagsFilter.__init__

    def counting(self: Any, canon: Any, match: Any) -> None:
        def counted(tags: Any) -> bool:
            calls.append(canon)
            return bool(match(tags))

        real(self, canon, counted)

    monkeypatch.setattr(tags_filter.TagsFilter, "__init__", counting)
    filters = [{"key": "k", "cmp": "eq", "val": str(i)} for i in range(3)]
    transports = []
    for i in range(12):
        c, t = await connected(node)
        await subscribe(c, t, "tags:many", tf=filters[i % 3])
        transports.append(t)
    for n in range(4):
        await publish(node, "tags:many", b'{"n":%d}' % n, tags={"k": str(n % 3)})
    assert len(calls) == 4 * 3
    await transports[0].wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 4)


@pytest.mark.parametrize(
    ("channel", "tf"),
    [
        ("plain:1", AAPL),  # namespace without allow_tags_filter
        ("tags:1", {"key": "ticker", "cmp": "like", "val": "A"}),  # invalid
        ("tags:1", {"op": "not", "nodes": []}),
    ],
)
async def test_filter_refused_with_107(node: Node, channel: str, tf: dict[str, Any]) -> None:
    c, t = await connected(node)
    reply = await subscribe(c, t, channel, tf=tf)
    assert reply["error"]["code"] == 107
    assert t.closed is None and channel not in c.subs


async def test_filter_with_negotiated_delta_is_107(node: Node) -> None:
    c, t = await connected(node)
    assert (await subscribe(c, t, "cache:1", tf=AAPL, delta="fossil"))["error"]["code"] == 107


async def test_unknown_namespace_and_permission_codes_come_first(node: Node) -> None:
    c, t = await connected(node)
    assert (await subscribe(c, t, "nowhere:1", tf=AAPL))["error"]["code"] == 102
    await send(c, {"id": 3, "subscribe": {"channel": "$tags:p", "tf": AAPL}})
    assert (await t.wait_for(lambda m: m.get("id") == 3))["error"]["code"] == 103


async def test_stream_recovery_is_filtered(node: Node) -> None:
    first = await publish(node, "tags:r", b'{"n":1}', tags={"ticker": "AAPL"})
    for n, ticker in ((2, "MSFT"), (3, "AAPL"), (4, "MSFT")):
        await publish(node, "tags:r", b'{"n":%d}' % n, tags={"ticker": ticker})
    c, t = await connected(node)
    result = (
        await subscribe(
            c, t, "tags:r", tf=AAPL, recoverable=True, recover=True, offset=1, epoch=first.epoch
        )
    )["subscribe"]
    assert result["recovered"] is True
    assert [p["data"]["n"] for p in result["publications"]] == [3]


async def test_filtered_subscriber_during_subscribe_gets_buffered_matches(node: Node) -> None:
    c, t = await connected(node)

    async def publish_soon() -> None:
        for n in range(1, 7):
            await publish(
                node, "tags:b", b'{"n":%d}' % n, tags={"ticker": "AAPL" if n % 2 else "X"}
            )
            await asyncio.sleep(0)

    task = asyncio.create_task(publish_soon())
    await send(c, {"id": 2, "subscribe": {"channel": "tags:b", "tf": AAPL, "positioned": True}})
    await task
    await t.wait_for(lambda m: m.get("id") == 2)
    result = next(m for m in t.messages() if m.get("id") == 2)["subscribe"]
    await publish(node, "tags:b", b'{"n":7}', tags={"ticker": "AAPL"})
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 7)
    got = [p["offset"] for p in pushes(t)]
    start = result.get("offset", 0)
    assert got == [o for o in range(start + 1, 8) if o % 2]
    assert "tags:b" in c.subs


# -- cache recovery ------------------------------------------------------------------------


async def five(node: Node, channel: str) -> str:
    for n in range(1, 6):
        sp = await publish(node, channel, b'{"n":%d}' % n)
    return str(sp.epoch)


@pytest.mark.parametrize(
    ("request_position", "expected_offset", "expected_pubs"),
    [
        ({}, None, [5]),  # since: {} (no offset, no epoch)
        ({"offset": 1, "epoch": "E"}, 1, [5]),
        ({"offset": 5, "epoch": "E"}, 5, []),  # up to date
        ({"offset": 3, "epoch": "stale"}, 3, [5]),  # a stale epoch still gets the newest
    ],
)
async def test_cache_recovery(
    node: Node,
    request_position: dict[str, Any],
    expected_offset: int | None,
    expected_pubs: list[int],
) -> None:
    epoch = await five(node, "cache:c")
    position = {k: (epoch if v == "E" else v) for k, v in request_position.items()}
    c, t = await connected(node)
    result = (await subscribe(c, t, "cache:c", recover=True, **position))["subscribe"]
    assert result["recovered"] is True and result["was_recovering"] is True
    assert result.get("offset") == expected_offset
    assert result["epoch"] == epoch  # the current epoch, always
    assert [p["data"]["n"] for p in result.get("publications", [])] == expected_pubs
    await publish(node, "cache:c", b'{"n":6}')
    live = await t.wait_for(lambda m: "pub" in m.get("push", {}))
    assert live["push"]["pub"]["offset"] == 6


async def test_cache_recovery_of_an_empty_channel(node: Node) -> None:
    c, t = await connected(node)
    result = (await subscribe(c, t, "cache:empty", recover=True))["subscribe"]
    assert result.get("recovered") is None and result["was_recovering"] is True
    assert result.get("publications") is None and result["epoch"]


async def test_cache_recovery_with_filter_returns_newest_match(node: Node) -> None:
    for n, ticker in ((1, "AAPL"), (2, "AAPL"), (3, "MSFT"), (4, "MSFT")):
        sp = await publish(node, "cache:f", b'{"n":%d}' % n, tags={"ticker": ticker})
    c, t = await connected(node)
    result = (await subscribe(c, t, "cache:f", recover=True, tf=AAPL))["subscribe"]
    assert [p["data"]["n"] for p in result["publications"]] == [2]
    none, tn = await connected(node)
    nothing = {"key": "ticker", "cmp": "eq", "val": "IBM"}
    result = (await subscribe(none, tn, "cache:f", recover=True, tf=nothing))["subscribe"]
    assert result.get("recovered") is None and result["offset"] == 4 and sp.epoch


async def test_cache_recovery_with_delta_is_full(node: Node) -> None:
    await five(node, "cache:d")
    c, t = await connected(node)
    result = (await subscribe(c, t, "cache:d", recover=True, delta="fossil"))["subscribe"]
    [pub] = result["publications"]
    assert result["delta"] is True and pub["data"] == '{"n":5}' and "delta" not in pub


async def test_auto_cache_recover_without_asking(node: Node) -> None:
    await five(node, "auto:a")
    c, t = await connected(node)
    result = (await subscribe(c, t, "auto:a"))["subscribe"]
    assert result["was_recovering"] is True and result["recovered"] is True
    assert [p["data"]["n"] for p in result["publications"]] == [5]


async def test_cache_recovery_of_server_side_subscriptions(node: Node) -> None:
    epoch = await five(node, "cache:srv")
    c, t = client(node)
    await send(
        c,
        {
            "id": 1,
            "connect": {
                "token": token(channels=["cache:srv"]),
                "subs": {"cache:srv": {"recover": True, "offset": 2, "epoch": epoch}},
            },
        },
    )
    reply = await t.wait_for(lambda m: m.get("id") == 1)
    result = reply["connect"]["subs"]["cache:srv"]
    assert result["recovered"] is True and result["offset"] == 2 and result["epoch"] == epoch
    assert [p["data"]["n"] for p in result["publications"]] == [5]
    # auto_cache_recover for a server-side subscription that never asked
    await five(node, "auto:srv")
    c2, t2 = client(node)
    await send(c2, {"id": 1, "connect": {"token": token(channels=["auto:srv"])}})
    result = (await t2.wait_for(lambda m: m.get("id") == 1))["connect"]["subs"]["auto:srv"]
    assert result["was_recovering"] is True
    assert [p["data"]["n"] for p in result["publications"]] == [5]


async def test_flag_reject_unrecovered_answers_112(node: Node) -> None:
    """Flag bit 2 (centrifuge-js with getState): a stream recovery that would answer
    recovered=false answers error 112 and leaves no subscription; cache mode never does."""
    await publish(node, "tags:lost", b'{"n":1}')
    c, t = await connected(node)
    position = {"recover": True, "offset": 1, "epoch": "gone", "recoverable": True}
    reply = await subscribe(c, t, "tags:lost", flag=3, **position)
    assert reply["error"]["code"] == 112 and "tags:lost" not in c.subs
    await send(c, {"id": 3, "subscribe": {"channel": "tags:lost", "flag": 1, **position}})
    result = (await t.wait_for(lambda m: m.get("id") == 3))["subscribe"]
    assert result.get("recovered") is None and result["was_recovering"] is True
    await five(node, "cache:flag")
    c2, t2 = await connected(node)
    result = (await subscribe(c2, t2, "cache:flag", flag=2, **position))["subscribe"]
    assert result["recovered"] is True
