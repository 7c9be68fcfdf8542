"""Bidirectional gRPC client stream ``CentrifugoStream.Communicate`` (gyre extension)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.api import api_pb2
from gyre_grpc_support import Gyre, WsClient, token, wait_until

COMMUNICATE = "/centrifugal.centrifugo.stream.CentrifugoStream/Communicate"


def data(obj: Any) -> bytes:
    return json.dumps(obj).encode()


async def test_full_flow(gyre: Gyre) -> None:
    """connect, subscribe, publish, presence, history, server disconnect, recovery."""
    s = gyre.stream()
    ws = await WsClient.open(gyre.ws_url)
    try:
        res = await s.connect(token("mob"), name="ios", version="1.0")
        assert res.client and res.version
        assert res.ping == 25 and res.pong is True
        assert not res.session and not res.node  # not an emulation transport

        sub = await s.subscribe("chat", recoverable=True, positioned=True, join_leave=True)
        assert sub.recoverable and sub.positioned and sub.epoch and sub.offset == 0
        epoch = sub.epoch
        await ws.connect(token("web"))
        await ws.subscribe("chat")

        # join of the WebSocket user is pushed to the stream
        join = await s.wait_push(lambda p: p.HasField("join") and p.join.info.user == "web")
        assert join.channel == "chat" and join.join.info.client

        # publish from the stream: both the stream and the WebSocket receive it
        pub = await s.command(
            publish=client_pb2.PublishRequest(channel="chat", data=data({"m": "hi"}))
        )
        assert pub.HasField("publish") and not pub.HasField("error")
        p = await s.wait_push(lambda p: p.HasField("pub"))
        assert p.channel == "chat" and json.loads(p.pub.data) == {"m": "hi"}
        assert p.pub.offset == 1 and p.pub.info.user == "mob"
        wp = await ws.wait_push(lambda p: "pub" in p)
        assert wp["pub"]["data"] == {"m": "hi"} and wp["pub"]["info"]["user"] == "mob"

        # publication from the server API
        await gyre.api().Publish(api_pb2.PublishRequest(channel="chat", data=data(2)))
        p2 = await s.wait_push(lambda p: p.HasField("pub") and p.pub.offset == 2)
        assert json.loads(p2.pub.data) == 2

        pres = await s.command(presence=client_pb2.PresenceRequest(channel="chat"))
        assert {i.user for i in pres.presence.presence.values()} == {"mob", "web"}
        stats = await s.command(presence_stats=client_pb2.PresenceStatsRequest(channel="chat"))
        assert (stats.presence_stats.num_clients, stats.presence_stats.num_users) == (2, 2)
        hist = await s.command(history=client_pb2.HistoryRequest(channel="chat", limit=10))
        assert [x.offset for x in hist.history.publications] == [1, 2]
        assert hist.history.epoch == epoch

        # same errors as WebSocket: reply error, connection kept
        err = await s.command(subscribe=client_pb2.SubscribeRequest(channel="nope:x"))
        assert (err.error.code, err.error.message) == (102, "unknown channel")
        dup = await s.command(subscribe=client_pb2.SubscribeRequest(channel="chat"))
        assert dup.error.code == 105
        rpc = await s.command(rpc=client_pb2.RPCRequest(method="m"))
        assert rpc.error.code in (104, 108)

        # server-side disconnect: a disconnect push, then the call ends with OK
        await gyre.api().Disconnect(api_pb2.DisconnectRequest(user="mob"))
        d = await s.wait_disconnect()
        assert (d.code, d.reason) == (3503, "force disconnect")
        assert s.status == grpc.StatusCode.OK

        # missed publications while away, then reconnect with recovery
        for i in (3, 4):
            await gyre.api().Publish(api_pb2.PublishRequest(channel="chat", data=data(i)))
        s2 = gyre.stream()
        await s2.connect(token("mob"))
        rec = await s2.subscribe(
            "chat", recoverable=True, positioned=True, recover=True, epoch=epoch, offset=2
        )
        assert rec.recovered is True and rec.was_recovering is True
        assert [json.loads(x.data) for x in rec.publications] == [3, 4]
        await gyre.api().Publish(api_pb2.PublishRequest(channel="chat", data=data(5)))
        p5 = await s2.wait_push(lambda p: p.HasField("pub"))
        assert p5.pub.offset == 5
        await s2.close()
    finally:
        await ws.close()
        await s.close()


async def test_ping_pong(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start(ping_interval=1.0, pong_timeout=0.5)
    s = g.stream()
    try:
        res = await s.connect(token("pinger"))
        assert res.pong is True

        def pings() -> int:
            return sum(1 for r in s.inbox.items if r == client_pb2.Reply())  # empty Reply

        for k in range(1, 4):
            await wait_until(lambda k=k: pings() >= k, timeout=3)  # type: ignore[misc]
            await s.send(client_pb2.Command())  # pong: empty Command
        await asyncio.sleep(0.5)
        assert not any(r.push.HasField("disconnect") for r in s.inbox.items)
        # now stop answering: 3012 no pong
        d = await s.wait_disconnect(timeout=5)
        assert (d.code, d.reason) == (3012, "no pong")
    finally:
        await s.close()


async def test_pong_without_ping_is_bad_request(gyre: Gyre) -> None:
    s = gyre.stream()
    try:
        await s.connect(token("p"))
        await s.send(client_pb2.Command())
        d = await s.wait_disconnect()
        assert (d.code, d.reason) == (3501, "bad request")
        assert s.status == grpc.StatusCode.OK
    finally:
        await s.close()


async def test_undecodable_bytes_disconnect_3501(gyre: Gyre) -> None:
    channel = gyre.channel("grpc_stream")
    call = channel.stream_stream(
        COMMUNICATE, request_serializer=None, response_deserializer=client_pb2.Reply.FromString
    )()
    await call.write(b"\xff\xff\xff\xff")
    replies = [r async for r in call]
    assert await call.code() == grpc.StatusCode.OK
    assert replies[-1].push.disconnect.code == 3501
    assert replies[-1].push.disconnect.reason == "bad request"


async def test_command_before_connect_disconnects(gyre: Gyre) -> None:
    s = gyre.stream()
    try:
        await s.send(client_pb2.Command(id=1, presence=client_pb2.PresenceRequest(channel="x")))
        d = await s.wait_disconnect()
        assert d.code == 3501
    finally:
        await s.close()


async def test_invalid_token(gyre: Gyre) -> None:
    s = gyre.stream()
    try:
        await s.send(client_pb2.Command(id=1, connect=client_pb2.ConnectRequest(token="bad")))
        d = await s.wait_disconnect()
        assert (d.code, d.reason) == (3500, "invalid token")
    finally:
        await s.close()


async def test_client_cancel_cleans_up(gyre: Gyre) -> None:
    s = gyre.stream()
    await s.connect(token("gone"))
    await s.subscribe("bye")
    node = gyre.server.node
    assert len(node.hub.conns) == 1
    await s.close()
    await wait_until(lambda: not node.hub.conns and not node.hub.channels)


async def test_client_half_close_ends_session(gyre: Gyre) -> None:
    s = gyre.stream()
    await s.connect(token("half"))
    await s.call.done_writing()
    await s.inbox.wait_end()
    assert s.status == grpc.StatusCode.OK
    await wait_until(lambda: not gyre.server.node.hub.conns)


async def test_shutdown_sends_3001(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start()
    s = g.stream()
    await s.connect(token("sd"))
    await g.server.stop()
    d = await s.wait_disconnect()
    assert (d.code, d.reason) == (3001, "shutdown")
    assert s.status == grpc.StatusCode.OK
    # new streams are refused while shutting down
    late = g.stream()
    await late.inbox.wait_end()
    assert late.status == grpc.StatusCode.UNAVAILABLE


async def test_max_receive_message_size(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start(grpc_stream_max_receive_message_size=512)
    s = g.stream()
    await s.connect(token("big"))
    await s.send(
        client_pb2.Command(
            id=9, publish=client_pb2.PublishRequest(channel="c", data=b'"' + b"x" * 1000 + b'"')
        )
    )
    await s.inbox.wait_end()
    assert s.status == grpc.StatusCode.RESOURCE_EXHAUSTED
    await wait_until(lambda: not g.server.node.hub.conns)


async def test_slow_client_dropped_others_keep_receiving(
    start: Callable[..., Awaitable[Gyre]],
) -> None:
    """A stream that never reads is disconnected as slow (3008); a reading one is not."""
    g = await start(client_queue_max_size=65536)
    node = g.server.node
    slow = g.stream(read=False)
    fast = g.stream()
    try:
        # the slow client reads only its connect and subscribe replies
        await slow.send(
            client_pb2.Command(id=1, connect=client_pb2.ConnectRequest(token=token("s")))
        )
        await slow.send(
            client_pb2.Command(id=2, subscribe=client_pb2.SubscribeRequest(channel="f"))
        )
        await fast.connect(token("f"))
        await fast.subscribe("f")
        await wait_until(lambda: node.hub.num_subscribers("f") == 2)
        slow_id = next(c.id for c in node.hub.conns.values() if c.user == "s")

        payload = data("x" * 8000)
        api = g.api()
        sent = 0
        while slow_id in node.hub.conns:
            assert sent < 5000, "slow client never dropped"
            await api.Publish(api_pb2.PublishRequest(channel="f", data=payload, skip_history=True))
            sent += 1
        # the fast stream got every publication and is still connected
        await wait_until(
            lambda: sum(1 for p in fast.pushes() if p.HasField("pub")) >= sent, timeout=30
        )
        assert sum(1 for p in fast.pushes() if p.HasField("pub")) == sent
        assert any(c.user == "f" for c in node.hub.conns.values())
        await api.Publish(api_pb2.PublishRequest(channel="f", data=data("after")))
        await fast.wait_push(lambda p: p.HasField("pub") and json.loads(p.pub.data) == "after")
        stats = await api.PresenceStats(api_pb2.PresenceStatsRequest(channel="f"))
        assert stats.result.num_users == 1
    finally:
        await slow.close()
        await fast.close()


async def test_metadata_reaches_session_headers(gyre: Gyre) -> None:
    s = gyre.stream(metadata=(("x-app", "demo"),))
    try:
        await s.connect(token("md"))
        (client,) = gyre.server.node.hub.conns.values()
        assert client.request_headers.get("x-app") == "demo"
        assert client.transport.name == "grpc_stream"
    finally:
        await s.close()


async def test_connection_limit_refuses_new_streams(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start(client_connection_limit=1)
    first = g.stream()
    try:
        await first.connect(token("one"))
        second = g.stream()
        await second.inbox.wait_end()
        assert second.status == grpc.StatusCode.UNAVAILABLE
    finally:
        await first.close()
