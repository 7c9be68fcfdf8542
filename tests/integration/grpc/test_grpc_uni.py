"""Unidirectional gRPC ``CentrifugoUniStream.Consume`` (docs/transports.md#grpc-streams)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import grpc
from centrifugal.centrifugo.api import api_pb2
from centrifugal.centrifugo.unistream import unistream_pb2
from gyre_grpc_support import Gyre, token, wait_until


async def test_publications_for_token_channels_then_disconnect(gyre: Gyre) -> None:
    u = gyre.uni(
        unistream_pb2.ConnectRequest(token=token("uni", channels=["feed", "alerts"]), name="n")
    )
    try:
        first = await u.wait(lambda p: True)
        assert first.HasField("connect")
        c = first.connect
        assert c.client and c.version and c.session
        assert c.ping == 0 and c.pong is False
        assert set(c.subs) == {"feed", "alerts"}
        assert c.subs["feed"].recoverable is False

        api = gyre.api()
        await api.Publish(api_pb2.PublishRequest(channel="feed", data=b'{"a":1}'))
        await api.Publish(api_pb2.PublishRequest(channel="alerts", data=b'"x"'))
        p1 = await u.wait(lambda p: p.HasField("pub") and p.channel == "feed")
        assert json.loads(p1.pub.data) == {"a": 1} and p1.pub.offset == 1
        await u.wait(lambda p: p.HasField("pub") and p.channel == "alerts")

        # server API subscribe / unsubscribe pushes reach the uni stream too
        await api.Subscribe(api_pb2.SubscribeRequest(channel="extra", user="uni"))
        await u.wait(lambda p: p.HasField("subscribe") and p.channel == "extra")
        await api.Unsubscribe(api_pb2.UnsubscribeRequest(channel="extra", user="uni"))
        un = await u.wait(lambda p: p.HasField("unsubscribe") and p.channel == "extra")
        assert un.unsubscribe.code == 2000

        await api.Disconnect(
            api_pb2.DisconnectRequest(
                user="uni", disconnect=api_pb2.Disconnect(code=4100, reason="bye")
            )
        )
        d = await u.wait(lambda p: p.HasField("disconnect"))
        assert (d.disconnect.code, d.disconnect.reason) == (4100, "bye")
        await u.inbox.wait_end()
        assert u.status == grpc.StatusCode.OK
        assert u.inbox.items[-1] == d  # the disconnect push is the last message
        await wait_until(lambda: not gyre.server.node.hub.conns)
    finally:
        await u.close()


async def test_recovery_via_connect_request_subs(gyre: Gyre) -> None:
    api = gyre.api()
    first = await api.Publish(api_pb2.PublishRequest(channel="rec", data=b"1"))
    epoch = first.result.epoch
    await api.Publish(api_pb2.PublishRequest(channel="rec", data=b"2"))
    await api.Publish(api_pb2.PublishRequest(channel="rec", data=b"3"))
    u = gyre.uni(
        unistream_pb2.ConnectRequest(
            token=token("r", subs={"rec": {"override": {"force_recovery": {"value": True}}}}),
            subs={"rec": unistream_pb2.SubscribeRequest(recover=True, epoch=epoch, offset=1)},
        )
    )
    try:
        push = await u.wait(lambda p: p.HasField("connect"))
        s = push.connect.subs["rec"]
        assert s.recovered is True
        assert [json.loads(p.data) for p in s.publications] == [2, 3]
    finally:
        await u.close()


async def test_invalid_token_disconnect_push(gyre: Gyre) -> None:
    u = gyre.uni(unistream_pb2.ConnectRequest(token="not-a-jwt"))
    d = await u.wait(lambda p: p.HasField("disconnect"))
    assert (d.disconnect.code, d.disconnect.reason) == (3500, "invalid token")
    await u.inbox.wait_end()
    assert u.status == grpc.StatusCode.OK
    assert len(u.inbox.items) == 1


async def test_expired_token_maps_to_3005(gyre: Gyre) -> None:
    u = gyre.uni(unistream_pb2.ConnectRequest(token=token("e", exp=1)))
    d = await u.wait(lambda p: p.HasField("disconnect"))
    assert d.disconnect.code == 3005


async def test_unknown_protocol_version(gyre: Gyre) -> None:
    u = gyre.uni(
        unistream_pb2.ConnectRequest(token=token("v")),
        metadata=(("x-cf-protocol-version", "v9"),),
    )
    await u.inbox.wait_end()
    assert u.status != grpc.StatusCode.OK
    assert u.details == "unknown protocol version"
    ok = gyre.uni(
        unistream_pb2.ConnectRequest(token=token("v")),
        metadata=(("x-cf-protocol-version", "v2"),),
    )
    try:
        assert (await ok.wait(lambda p: True)).HasField("connect")
    finally:
        await ok.close()


async def test_malformed_request(gyre: Gyre) -> None:
    call = gyre.channel("uni_grpc").unary_stream(
        "/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume",
        request_serializer=None,
        response_deserializer=None,
    )(b"\xff\xff\xff")
    try:
        async for _ in call:
            pass
    except grpc.aio.AioRpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        raise AssertionError("expected an error")


async def test_client_cancel_cleans_up(gyre: Gyre) -> None:
    u = gyre.uni(unistream_pb2.ConnectRequest(token=token("c", channels=["z"])))
    await u.wait(lambda p: p.HasField("connect"))
    assert gyre.server.node.hub.num_subscribers("z") == 1
    await u.close()
    await wait_until(lambda: not gyre.server.node.hub.conns and not gyre.server.node.hub.channels)


async def test_shutdown_push(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start()
    u = g.uni(unistream_pb2.ConnectRequest(token=token("s")))
    await u.wait(lambda p: p.HasField("connect"))
    await g.server.stop()
    d = await u.wait(lambda p: p.HasField("disconnect"))
    assert (d.disconnect.code, d.disconnect.reason) == (3001, "shutdown")
    await u.inbox.wait_end()
    assert u.status == grpc.StatusCode.OK
