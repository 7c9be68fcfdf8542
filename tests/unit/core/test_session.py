"""Client session state machine without sockets (docs/protocol.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.auth import generate_token
from service.core.engine import PublishOptions
from service.core.node import Node
from service.protocol.codes import DISCONNECT_FORCE_RECONNECT
from tests.publishing import publish_one

from .harness import SECRET, client, make_config, make_node, send

NS = {
    "name": "chat",
    "allow_subscribe_for_client": True,
    "allow_publish_for_client": True,
    "allow_history_for_client": True,
    "allow_presence_for_client": True,
    "presence": True,
    "join_leave": True,
    "history_size": 10,
    "history_ttl": "300s",
}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await make_node(make_config(tmp_path, namespaces=[NS], ping_interval="25s"))
    yield n
    await n.close()


def token(user: str = "42", **extra: object) -> str:
    return generate_token(secret=SECRET, user=user, ttl=3600, extra=dict(extra) or None)


async def test_command_before_connect_is_3501(node: Node) -> None:
    c, t = client(node)
    assert not await send(c, {"id": 1, "subscribe": {"channel": "chat:a"}})
    assert t.closed is not None and t.closed.code == 3501


async def test_second_connect_is_3501(node: Node) -> None:
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token()}})
    await send(c, {"id": 2, "connect": {"token": token()}})
    assert t.closed is not None and t.closed.code == 3501


async def test_pong_without_ping_is_3501(node: Node) -> None:
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token()}})
    await send(c, {})
    assert t.closed is not None and t.closed.code == 3501


async def test_pipelined_connect_and_subscribe_replies_in_order(node: Node) -> None:
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token()}},
        {"id": 2, "subscribe": {"channel": "chat:a", "flag": 1}},
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    ids = [m.get("id") for m in t.messages() if "id" in m]
    assert ids == [1, 2]
    connect = t.messages()[0]["connect"]
    assert connect["client"] == c.id and connect["ping"] == 25 and connect["pong"] is True
    assert connect["expires"] is True and 3590 <= connect["ttl"] <= 3600


async def test_subscribe_reply_comes_before_publications(node: Node) -> None:
    c, t = client(node)
    await send(c, {"id": 1, "connect": {"token": token()}})

    async def publish_soon() -> None:
        for i in range(5):
            await publish_one(
                node,
                "chat:a",
                b'{"i":%d}' % i,
                opts=PublishOptions(history_size=10, history_ttl=300),
            )
            await asyncio.sleep(0)

    task = asyncio.create_task(publish_soon())
    await send(c, {"id": 2, "subscribe": {"channel": "chat:a", "recoverable": True}})
    await task
    await t.wait_for(lambda m: m.get("push", {}).get("pub", {}).get("offset") == 5)
    msgs = t.messages()
    sub_index = next(i for i, m in enumerate(msgs) if m.get("id") == 2)
    pubs = [i for i, m in enumerate(msgs) if "pub" in m.get("push", {})]
    assert all(i > sub_index for i in pubs)
    result = msgs[sub_index]["subscribe"]
    seen = [m["push"]["pub"]["offset"] for m in msgs if "pub" in m.get("push", {})]
    # no duplicates, nothing lost: offsets continue right after the reply's position
    assert seen == list(range(result.get("offset", 0) + 1, 6))


async def test_recovery_returns_missed_publications(node: Node) -> None:
    opts = PublishOptions(history_size=10, history_ttl=300)
    sp = await publish_one(node, "chat:r", b'{"n":1}', opts)
    assert sp is not None
    for n in (2, 3, 4):
        await publish_one(node, "chat:r", b'{"n":%d}' % n, opts)
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token()}},
        {
            "id": 2,
            "subscribe": {
                "channel": "chat:r",
                "recoverable": True,
                "recover": True,
                "offset": 1,
                "epoch": sp.epoch,
            },
        },
    )
    reply = await t.wait_for(lambda m: m.get("id") == 2)
    res = reply["subscribe"]
    assert res["recovered"] is True and res["was_recovering"] is True
    # request position echoed (docs/protocol.md#positioning-and-recovery)
    assert res["offset"] == 1 and res["epoch"] == sp.epoch
    assert [p["offset"] for p in res["publications"]] == [2, 3, 4]
    assert [p["data"]["n"] for p in res["publications"]] == [2, 3, 4]


async def test_recovery_with_wrong_epoch_is_not_recovered(node: Node) -> None:
    opts = PublishOptions(history_size=10, history_ttl=300)
    await publish_one(node, "chat:e", b"{}", opts)
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token()}},
        {
            "id": 2,
            "subscribe": {
                "channel": "chat:e",
                "recoverable": True,
                "recover": True,
                "offset": 0,
                "epoch": "_",
            },
        },
    )
    res = (await t.wait_for(lambda m: m.get("id") == 2))["subscribe"]
    assert res.get("recovered", False) is False and "publications" not in res
    assert res["offset"] == 1 and res["epoch"] != "_"


async def test_errors_keep_connection(node: Node) -> None:
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token()}},
        {"id": 2, "subscribe": {"channel": "unknown:x"}},
        {"id": 3, "subscribe": {"channel": "nopermission"}},
        {"id": 4, "subscribe": {"channel": "chat:" + "x" * 300}},
        {"id": 5, "subscribe": {"channel": "chat:ok"}},
        {"id": 6, "subscribe": {"channel": "chat:ok"}},
        {"id": 7, "ping": {}},
    )
    await t.wait_for(lambda m: m.get("id") == 7)
    codes = {m["id"]: m.get("error", {}).get("code") for m in t.messages() if "id" in m}
    assert codes == {1: None, 2: 102, 3: 103, 4: 107, 5: None, 6: 105, 7: 108}
    assert t.closed is None


async def test_publish_delivers_with_client_info_and_join_leave(node: Node) -> None:
    a, ta = client(node)
    b, _tb = client(node)
    await send(
        a,
        {"id": 1, "connect": {"token": token("a")}},
        {"id": 2, "subscribe": {"channel": "chat:j", "join_leave": True}},
    )
    await ta.wait_for(lambda m: m.get("id") == 2)
    await send(
        b,
        {"id": 1, "connect": {"token": token("b")}},
        {"id": 2, "subscribe": {"channel": "chat:j"}},
        {"id": 3, "publish": {"channel": "chat:j", "data": {"hello": "world"}}},
    )
    join = await ta.wait_for(
        lambda m: m.get("push", {}).get("join", {}).get("info", {}).get("user") == "b"
    )
    assert join["push"]["channel"] == "chat:j"
    pub = await ta.wait_for(lambda m: "pub" in m.get("push", {}))
    assert pub["push"]["pub"]["data"] == {"hello": "world"}
    assert pub["push"]["pub"]["info"]["user"] == "b"
    b.disconnect(DISCONNECT_FORCE_RECONNECT)
    leave = await ta.wait_for(lambda m: "leave" in m.get("push", {}))
    assert leave["push"]["leave"]["info"]["user"] == "b"


async def test_expired_token_is_109_and_bad_token_is_3500(node: Node) -> None:
    c, t = client(node)
    expired = generate_token(secret=SECRET, user="1", ttl=3600, extra={"exp": 1000})
    await send(c, {"id": 1, "connect": {"token": expired}})
    msg = await t.wait_for(lambda m: m.get("id") == 1)
    assert msg["error"] == {"code": 109, "message": "token expired"}
    c2, t2 = client(node)
    await send(c2, {"id": 1, "connect": {"token": token() + "x"}})
    assert t2.closed is not None and t2.closed.code == 3500


async def test_slow_client_disconnected_with_3008(node: Node) -> None:
    c, t = client(node)
    await send(
        c, {"id": 1, "connect": {"token": token()}}, {"id": 2, "subscribe": {"channel": "chat:s"}}
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    t.pending = 10 * 1024 * 1024  # the peer stopped reading
    await publish_one(node, "chat:s", b"{}", PublishOptions())
    assert (await t.wait_closed()).code == 3008  # type: ignore[union-attr]


async def test_presence_and_stats(node: Node) -> None:
    a, _ta = client(node)
    await send(
        a,
        {"id": 1, "connect": {"token": token("u1")}},
        {"id": 2, "subscribe": {"channel": "chat:p"}},
    )
    b, tb = client(node)
    await send(
        b,
        {"id": 1, "connect": {"token": token("u2")}},
        {"id": 2, "subscribe": {"channel": "chat:p"}},
        {"id": 3, "presence": {"channel": "chat:p"}},
        {"id": 4, "presence_stats": {"channel": "chat:p"}},
    )
    pres = (await tb.wait_for(lambda m: m.get("id") == 3))["presence"]["presence"]
    assert {v["user"] for v in pres.values()} == {"u1", "u2"}
    stats = (await tb.wait_for(lambda m: m.get("id") == 4))["presence_stats"]
    assert stats == {"num_clients": 2, "num_users": 2}


async def test_position_check_unsubscribes_lagging_client_side_subscription(node: Node) -> None:
    c, t = client(node)
    await send(
        c,
        {"id": 1, "connect": {"token": token()}},
        {"id": 2, "subscribe": {"channel": "chat:pc", "recoverable": True}},
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    await publish_one(node, "chat:pc", b"{}", PublishOptions(history_size=10, history_ttl=300))
    c.subs["chat:pc"].offset = 0  # as if that delivery had been lost on its way (PUB/SUB)
    await node.check_positions(grace=0.01)
    push = await t.wait_for(lambda m: "unsubscribe" in m.get("push", {}))
    assert push["push"] == {
        "channel": "chat:pc",
        "unsubscribe": {"code": 2500, "reason": "insufficient state"},
    }


async def test_single_connection_disconnects_previous_connection(tmp_path: Path) -> None:
    ns = {"name": "personal", "presence": True}
    n = await make_node(
        make_config(
            tmp_path,
            namespaces=[ns],
            user_subscribe_to_personal=True,
            user_personal_channel_namespace="personal",
            user_personal_single_connection=True,
        )
    )
    try:
        a, ta = client(n)
        await send(a, {"id": 1, "connect": {"token": token("7")}})
        await ta.wait_for(lambda m: m.get("id") == 1)
        b, tb = client(n)
        await send(b, {"id": 1, "connect": {"token": token("7")}})
        assert (await ta.wait_closed()).code == 3504  # type: ignore[union-attr]
        assert tb.closed is None
    finally:
        await n.close()


async def test_write_timeout_disconnects_with_3009(node: Node) -> None:
    c, t = client(node)
    c.writer.write_timeout = 0.3  # as WebSocketTransport passes websocket_write_timeout
    await send(
        c, {"id": 1, "connect": {"token": token()}}, {"id": 2, "subscribe": {"channel": "chat:w"}}
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    t.pending = 1000  # bytes stay unsent: the peer stopped reading, below the queue cap
    await publish_one(node, "chat:w", b"{}", PublishOptions())
    assert (await t.wait_closed(timeout=3)).code == 3009  # type: ignore[union-attr]


async def test_draining_writer_is_not_timed_out(node: Node) -> None:
    c, t = client(node)
    # the drain takes 1.5 s, longer than the timeout, but each 0.1 s step makes progress; the
    # timeout is 1 s so that a busy machine stretching one step does not look like a stall
    c.writer.write_timeout = 1.0
    await send(
        c, {"id": 1, "connect": {"token": token()}}, {"id": 2, "subscribe": {"channel": "chat:d"}}
    )
    await t.wait_for(lambda m: m.get("id") == 2)
    t.pending = 5000
    await publish_one(node, "chat:d", b"{}", PublishOptions())
    for _ in range(15):  # the peer keeps reading, slowly
        await asyncio.sleep(0.1)
        t.pending -= 300
    assert t.closed is None
