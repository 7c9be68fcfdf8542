"""Server API over gRPC (docs/server_api.md): every method, Batch, auth, reflection, limits.

Effects are checked by what a connected JSON WebSocket client observes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from centrifugal.centrifugo.api import api_pb2
from gyre_grpc_support import Gyre, WsClient, token

from service.api.executor import BATCH_SLICE

PRO_METHODS = [
    "Connections",
    "UpdateUserStatus",
    "GetUserStatus",
    "DeleteUserStatus",
    "BlockUser",
    "UnblockUser",
    "RevokeToken",
    "InvalidateUserTokens",
    "DeviceRegister",
    "DeviceUpdate",
    "DeviceRemove",
    "DeviceList",
    "DeviceTopicList",
    "DeviceTopicUpdate",
    "UserTopicList",
    "UserTopicUpdate",
    "SendPushNotification",
    "UpdatePushStatus",
]


@pytest.fixture
async def ws_factory(gyre: Gyre) -> AsyncIterator[Callable[..., Awaitable[WsClient]]]:
    made: list[WsClient] = []

    async def make(user: str = "alice", channels: tuple[str, ...] = (), **claims: Any) -> WsClient:
        ws = await WsClient.open(gyre.ws_url)
        made.append(ws)
        await ws.connect(token(user, **claims))
        for ch in channels:
            await ws.subscribe(ch)
        return ws

    yield make
    for ws in made:
        await ws.close()


def data(obj: Any) -> bytes:
    return json.dumps(obj).encode()


async def test_publish_reaches_websocket_subscriber(gyre: Gyre, ws_factory: Any) -> None:
    ws = await ws_factory(channels=("news",))
    resp = await gyre.api().Publish(
        api_pb2.PublishRequest(channel="news", data=data({"n": 1}), tags={"k": "v"})
    )
    assert not resp.HasField("error")
    assert resp.HasField("result")
    assert resp.result.offset == 1 and resp.result.epoch
    push = await ws.wait_push(lambda p: "pub" in p)
    assert push["channel"] == "news"
    assert push["pub"]["data"] == {"n": 1}
    assert push["pub"]["tags"] == {"k": "v"}
    assert push["pub"]["offset"] == 1

    b64 = await gyre.api().Publish(api_pb2.PublishRequest(channel="news", b64data="eyJuIjoyfQ=="))
    assert b64.result.offset == 2
    await ws.wait_push(lambda p: p.get("pub", {}).get("data") == {"n": 2})


async def test_domain_errors_travel_in_the_response(gyre: Gyre) -> None:
    api = gyre.api()
    call = api.Publish(api_pb2.PublishRequest(channel="", data=b"{}"))
    resp = await call
    assert await call.code() == grpc.StatusCode.OK
    assert (resp.error.code, resp.error.message) == (107, "bad request")
    assert not resp.HasField("result")
    resp = await api.Publish(api_pb2.PublishRequest(channel="nope:x", data=b"{}"))
    assert (resp.error.code, resp.error.message) == (102, "unknown channel")
    resp = await api.Publish(api_pb2.PublishRequest(channel="news"))
    assert resp.error.code == 107  # empty data
    resp = await api.Publish(api_pb2.PublishRequest(channel="news", b64data="!!"))
    assert resp.error.code == 107


async def test_broadcast(gyre: Gyre, ws_factory: Any) -> None:
    ws = await ws_factory(channels=("a", "b"))
    resp = await gyre.api().Broadcast(
        api_pb2.BroadcastRequest(channels=["a", "", "x:y", "b"], data=data("hi"))
    )
    assert not resp.HasField("error")
    r = resp.result.responses
    assert len(r) == 4
    assert r[0].result.offset == 1 and not r[0].HasField("error")
    assert r[1].error.code == 107
    assert r[2].error.code == 102
    assert r[3].result.offset == 1
    await ws.wait_push(lambda p: p.get("channel") == "a" and "pub" in p)
    await ws.wait_push(lambda p: p.get("channel") == "b" and "pub" in p)
    empty = await gyre.api().Broadcast(api_pb2.BroadcastRequest(channels=[], data=b"1"))
    assert empty.error.code == 107


async def test_subscribe_and_unsubscribe(gyre: Gyre, ws_factory: Any) -> None:
    ws = await ws_factory(user="bob")
    api = gyre.api()
    resp = await api.Subscribe(
        api_pb2.SubscribeRequest(channel="srv", user="bob", data=data({"welcome": True}))
    )
    assert not resp.HasField("error") and resp.HasField("result")
    push = await ws.wait_push(lambda p: "subscribe" in p)
    assert push["channel"] == "srv"
    assert push["subscribe"]["data"] == {"welcome": True}
    await api.Publish(api_pb2.PublishRequest(channel="srv", data=data(1)))
    await ws.wait_push(lambda p: p.get("channel") == "srv" and "pub" in p)

    resp = await api.Unsubscribe(api_pb2.UnsubscribeRequest(channel="srv", user="bob"))
    assert not resp.HasField("error")
    push = await ws.wait_push(lambda p: "unsubscribe" in p)
    assert push["channel"] == "srv"
    assert push["unsubscribe"]["code"] == 2000

    bad = await api.Subscribe(api_pb2.SubscribeRequest(channel="zz:x", user="bob"))
    assert bad.error.code == 102
    bad = await api.Unsubscribe(api_pb2.UnsubscribeRequest(channel="zz:x", user="bob"))
    assert bad.error.code == 102


async def test_disconnect(gyre: Gyre, ws_factory: Any) -> None:
    ws1 = await ws_factory(user="carol")
    ws2 = await ws_factory(user="carol")
    api = gyre.api()
    resp = await api.Disconnect(api_pb2.DisconnectRequest(user="carol", whitelist=[ws2.client_id]))
    assert not resp.HasField("error")
    assert await ws1.wait_closed() == 3503
    assert ws2.close_code is None
    resp = await api.Disconnect(
        api_pb2.DisconnectRequest(
            user="carol", disconnect=api_pb2.Disconnect(code=4001, reason="go away")
        )
    )
    assert await ws2.wait_closed() == 4001


async def test_refresh(gyre: Gyre, ws_factory: Any) -> None:
    ws = await ws_factory(user="dave")
    api = gyre.api()
    resp = await api.Refresh(api_pb2.RefreshRequest(user="dave", expire_at=4102444800))
    assert not resp.HasField("error") and resp.HasField("result")
    push = await ws.wait_push(lambda p: "refresh" in p)
    assert push["refresh"]["expires"] is True and push["refresh"]["ttl"] > 0
    await api.Refresh(api_pb2.RefreshRequest(user="dave", expired=True))
    assert await ws.wait_closed() == 3005


async def test_presence_and_presence_stats(gyre: Gyre, ws_factory: Any) -> None:
    ws1 = await ws_factory(user="u1", channels=("room",))
    await ws_factory(user="u2", channels=("room",))
    api = gyre.api()
    p = await api.Presence(api_pb2.PresenceRequest(channel="room"))
    assert not p.HasField("error")
    assert {i.user for i in p.result.presence.values()} == {"u1", "u2"}
    assert p.result.presence[ws1.client_id].client == ws1.client_id
    s = await api.PresenceStats(api_pb2.PresenceStatsRequest(channel="room"))
    assert (s.result.num_clients, s.result.num_users) == (2, 2)
    off = await api.Presence(api_pb2.PresenceRequest(channel="plain:x"))
    assert (off.error.code, off.error.message) == (108, "not available")
    off2 = await api.PresenceStats(api_pb2.PresenceStatsRequest(channel=""))
    assert off2.error.code == 107


async def test_history_and_history_remove(gyre: Gyre, ws_factory: Any) -> None:
    api = gyre.api()
    for i in range(3):
        await api.Publish(api_pb2.PublishRequest(channel="h", data=data(i)))
    h = await api.History(api_pb2.HistoryRequest(channel="h", limit=-1))
    assert [json.loads(p.data) for p in h.result.publications] == [0, 1, 2]
    assert [p.offset for p in h.result.publications] == [1, 2, 3]
    assert h.result.offset == 3 and h.result.epoch
    epoch = h.result.epoch
    since = await api.History(
        api_pb2.HistoryRequest(
            channel="h", limit=-1, since=api_pb2.StreamPosition(offset=1, epoch=epoch)
        )
    )
    assert [p.offset for p in since.result.publications] == [2, 3]
    rev = await api.History(api_pb2.HistoryRequest(channel="h", limit=2, reverse=True))
    assert [p.offset for p in rev.result.publications] == [3, 2]
    top = await api.History(api_pb2.HistoryRequest(channel="h", limit=0))
    assert len(top.result.publications) == 0 and top.result.offset == 3
    bad = await api.History(
        api_pb2.HistoryRequest(channel="h", since=api_pb2.StreamPosition(offset=1, epoch="x"))
    )
    assert bad.error.code == 112
    off = await api.History(api_pb2.HistoryRequest(channel="plain:x"))
    assert off.error.code == 108

    rm = await api.HistoryRemove(api_pb2.HistoryRemoveRequest(channel="h"))
    assert not rm.HasField("error") and rm.HasField("result")
    after = await api.History(api_pb2.HistoryRequest(channel="h", limit=-1))
    assert len(after.result.publications) == 0
    assert after.result.offset == 3 and after.result.epoch == epoch  # meta kept


async def test_info(gyre: Gyre, ws_factory: Any) -> None:
    await ws_factory(user="i1", channels=("c1",))
    resp = await gyre.api().Info(api_pb2.InfoRequest())
    assert not resp.HasField("error")
    (node,) = resp.result.nodes
    assert node.uid == gyre.server.node.id
    assert node.num_clients == 1 and node.num_users == 1 and node.num_channels == 1
    assert node.version
    assert node.process.rss > 0
    assert node.metrics.interval > 0
    assert node.metrics.items["centrifugo.node.messages_sent_count.publication"] == 0


async def test_rpc(gyre: Gyre) -> None:
    api = gyre.api()
    r = await api.RPC(api_pb2.RPCRequest(method="getThing", params=b"{}"))
    assert (r.error.code, r.error.message) == (104, "method not found")
    r = await api.RPC(api_pb2.RPCRequest())
    assert r.error.code == 107


async def test_channels(gyre: Gyre, ws_factory: Any) -> None:
    await ws_factory(user="x1", channels=("plain:1", "news"))
    await ws_factory(user="x2", channels=("news",))
    api = gyre.api()
    r = await api.Channels(api_pb2.ChannelsRequest())
    assert not r.HasField("error")
    assert r.result.channels["news"].num_clients == 2
    assert r.result.channels["plain:1"].num_clients == 1
    r2 = await api.Channels(api_pb2.ChannelsRequest(pattern="ne*"))
    assert set(r2.result.channels) == {"news"}
    r3 = await api.Channels(api_pb2.ChannelsRequest(pattern="zzz*"))
    assert len(r3.result.channels) == 0


@pytest.mark.parametrize("method", PRO_METHODS)
async def test_pro_methods_are_unimplemented(gyre: Gyre, method: str) -> None:
    api = gyre.api()
    req_cls = getattr(api_pb2, f"{method}Request")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await getattr(api, method)(req_cls())
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_batch(gyre: Gyre, ws_factory: Any) -> None:
    ws = await ws_factory(user="bat", channels=("b1",))
    batch = api_pb2.BatchRequest(
        commands=[
            api_pb2.Command(id=1, publish=api_pb2.PublishRequest(channel="b1", data=data("x"))),
            api_pb2.Command(id=2, presence_stats=api_pb2.PresenceStatsRequest(channel="b1")),
            api_pb2.Command(id=3, publish=api_pb2.PublishRequest(channel="")),
            api_pb2.Command(id=4, info=api_pb2.InfoRequest()),
            api_pb2.Command(id=5),
            api_pb2.Command(id=6, connections=api_pb2.ConnectionsRequest()),
            api_pb2.Command(
                id=7,
                method=api_pb2.Command.HISTORY,
                params=b'{"channel":"b1","limit":-1}',
            ),
            api_pb2.Command(id=8, history=api_pb2.HistoryRequest(channel="b1", limit=-1)),
        ]
    )
    resp = await gyre.api().Batch(batch)
    r = resp.replies
    assert [x.id for x in r] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert r[0].HasField("publish") and r[0].publish.offset == 1
    assert (r[1].presence_stats.num_clients, r[1].presence_stats.num_users) == (1, 1)
    assert r[2].error.code == 107 and not r[2].HasField("publish")
    assert r[3].info.nodes[0].uid == gyre.server.node.id
    assert r[4].error.code == 104
    assert r[5].error.code == 104
    assert json.loads(r[6].result)["publications"][0]["data"] == "x"
    assert [json.loads(p.data) for p in r[7].history.publications] == ["x"]
    await ws.wait_push(lambda p: p.get("channel") == "b1" and "pub" in p)


async def test_batch_publish_replies_every_shape(gyre: Gyre, ws_factory: Any) -> None:
    """Batch answers its publish commands as pre-encoded bytes: each reply must decode to
    what the generated classes would say (id, empty result, offset + epoch, error)."""
    ws = await ws_factory(user="shapes", channels=("plain:s", "hist"))
    P = api_pb2.PublishRequest
    cmds = [
        api_pb2.Command(publish=P(channel="plain:s", data=data(1))),  # no id, no history
        api_pb2.Command(id=300, publish=P(channel="plain:s", data=data(2))),  # 2-byte id
        api_pb2.Command(id=3, publish=P(channel="hist", data=data(3), tags={"t": "v"})),
        api_pb2.Command(publish=P(channel="hist", b64data="NA==")),  # 4, offset without id
        api_pb2.Command(id=5, publish=P(channel="hist", b64data="%%%")),  # bad base64
        api_pb2.Command(id=6, publish=P(channel="hist", data=b"null")),  # null is no data
        api_pb2.Command(id=7, publish=P(channel="nowhere:x", data=data(7))),  # unknown ns
        api_pb2.Command(publish=P(channel="plain:s", data=data(8), skip_history=True)),
        api_pb2.Command(id=9, publish=P(channel="hist", data=data("x" * 300))),  # long
    ]
    resp = await gyre.api().Batch(api_pb2.BatchRequest(commands=cmds))
    r = resp.replies
    assert len(r) == len(cmds)
    assert [x.id for x in r] == [0, 300, 3, 0, 5, 6, 7, 0, 9]
    assert r[0].HasField("publish") and r[0].publish == api_pb2.PublishResult()
    assert r[1].HasField("publish") and not r[1].HasField("error")
    assert r[2].publish.offset == 1 and r[2].publish.epoch
    assert r[3].publish.offset == 2 and r[3].publish.epoch == r[2].publish.epoch
    assert (r[4].error.code, r[4].error.message) == (107, "bad request")
    assert (r[5].error.code, r[5].error.message) == (107, "bad request")
    assert (r[6].error.code, r[6].error.message) == (102, "unknown channel")
    assert r[7].HasField("publish") and not r[7].HasField("error")
    assert r[8].publish.offset == 3
    await ws.wait_push(lambda p: p.get("pub", {}).get("offset") == 3)
    assert ws.pubs("plain:s") == [1, 2, 8]
    assert ws.pubs("hist") == [3, 4, "x" * 300]
    tagged = await ws.wait_push(lambda p: p.get("pub", {}).get("data") == 3)
    assert tagged["pub"]["tags"] == {"t": "v"}


async def test_batch_runs_of_plain_publishes_answer_and_deliver_in_order(
    gyre: Gyre, ws_factory: Any
) -> None:
    """Consecutive plain publishes into one channel are published as one run: each still
    gets its own reply (offsets one apart), and subscribers see every publication in command
    order, across channels, runs, single commands and slice boundaries."""
    ws = await ws_factory(user="runs", channels=("hist", "plain:r"))
    P = api_pb2.PublishRequest
    plan: list[tuple[str, Any, int]] = (
        [("hist", i, 0) for i in range(BATCH_SLICE + 4)]  # a run crossing the first slice
        + [("plain:r", 100 + i, 0) for i in range(3)]  # another channel: a new run
        + [("hist", 200, 42)]  # an id: answered alone
        + [("hist", 300 + i, 0) for i in range(5)]  # the run resumes
        + [("nowhere:x", 400 + i, 0) for i in range(3)]  # unknown namespace: 102 each
        + [("", 500, 0)]  # no channel: 107
        + [("hist", 600 + i, 0) for i in range(20)]
    )
    cmds = [api_pb2.Command(id=i, publish=P(channel=ch, data=data(v))) for ch, v, i in plan]
    resp = await gyre.api().Batch(api_pb2.BatchRequest(commands=cmds))
    r = resp.replies
    assert len(r) == len(plan)
    assert [x.id for x in r] == [i for _, _, i in plan]
    hist = [x.publish for (ch, _, _), x in zip(plan, r, strict=True) if ch == "hist"]
    assert [x.offset for x in hist] == list(range(1, len(hist) + 1))
    assert len({x.epoch for x in hist}) == 1 and hist[0].epoch
    for (ch, _, _), x in zip(plan, r, strict=True):
        if ch == "plain:r":
            assert x.HasField("publish") and x.publish == api_pb2.PublishResult()
        elif ch == "nowhere:x":
            assert (x.error.code, x.error.message) == (102, "unknown channel")
        elif not ch:
            assert (x.error.code, x.error.message) == (107, "bad request")
    last = len(hist)
    await ws.wait_push(lambda p: p.get("pub", {}).get("offset") == last)
    delivered = [
        (m["push"]["channel"], m["push"]["pub"]["data"])
        for m in ws.inbox.items
        if "push" in m and "pub" in m["push"]
    ]
    assert delivered == [(ch, v) for ch, v, _ in plan if ch in ("hist", "plain:r")]
    history = await gyre.api().History(api_pb2.HistoryRequest(channel="hist", limit=-1))
    assert [json.loads(p.data) for p in history.result.publications] == [
        v for ch, v, _ in plan if ch == "hist"
    ]


class TestAuth:
    """``grpc_api_key``: metadata ``authorization: apikey <key>``, else UNAUTHENTICATED."""

    @pytest.fixture
    async def secured(self, start: Callable[..., Awaitable[Gyre]]) -> Gyre:
        return await start(grpc_api_key="s3cret")

    @pytest.mark.parametrize(
        "metadata",
        [
            None,
            (("authorization", "apikey wrong"),),
            (("authorization", "s3cret"),),
            (("authorization", "Bearer s3cret"),),
            (("authorization", "apikey s3cret "),),
            (("x-api-key", "s3cret"),),
        ],
        ids=["missing", "wrong", "no-scheme", "bearer", "trailing-space", "other-key"],
    )
    async def test_rejected_without_side_effect(self, secured: Gyre, metadata: Any) -> None:
        ws = await WsClient.open(secured.ws_url)
        try:
            await ws.connect(token("watcher"))
            await ws.subscribe("guarded")
            api = secured.api()
            for call in (
                api.Publish(
                    api_pb2.PublishRequest(channel="guarded", data=b"1"), metadata=metadata
                ),
                api.Batch(
                    api_pb2.BatchRequest(
                        commands=[
                            api_pb2.Command(
                                publish=api_pb2.PublishRequest(channel="guarded", data=b"2")
                            )
                        ]
                    ),
                    metadata=metadata,
                ),
                api.Disconnect(api_pb2.DisconnectRequest(user="watcher"), metadata=metadata),
                api.Connections(api_pb2.ConnectionsRequest(), metadata=metadata),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    await call
                assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
                assert e.value.details() == "unauthenticated"
            ok = (("authorization", "apikey s3cret"),)
            h = await api.History(api_pb2.HistoryRequest(channel="guarded", limit=-1), metadata=ok)
            assert len(h.result.publications) == 0 and h.result.offset == 0
            await asyncio.sleep(0.05)
            assert ws.pubs("guarded") == [] and ws.close_code is None
        finally:
            await ws.close()

    @pytest.mark.parametrize(
        "body",
        [b"\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x02\xc3\x28"],
        ids=["bad-tag", "bad-length", "invalid-utf8-channel"],
    )
    async def test_undecodable_request(
        self, secured: Gyre, body: bytes, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Bytes that are no PublishRequest: without the key UNAUTHENTICATED, with it
        INTERNAL "grpc: error unmarshalling request" (grpc-go's answer in v4); no traceback."""
        raw = secured.channel("grpc_api").unary_unary(
            "/centrifugal.centrifugo.api.CentrifugoApi/Publish",
            request_serializer=None,
            response_deserializer=None,
        )
        for metadata, code in (
            (None, grpc.StatusCode.UNAUTHENTICATED),
            ((("authorization", "apikey s3cret"),), grpc.StatusCode.INTERNAL),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await raw(body, metadata=metadata)
            assert e.value.code() == code
        assert e.value.details() == "grpc: error unmarshalling request"
        assert "Traceback" not in caplog.text and "DecodeError" not in caplog.text

    async def test_accepted_with_key(self, secured: Gyre) -> None:
        ok = (("authorization", "apikey s3cret"),)
        resp = await secured.api().Publish(
            api_pb2.PublishRequest(channel="guarded", data=b"1"), metadata=ok
        )
        assert resp.result.offset == 1


async def test_reflection(start: Callable[..., Awaitable[Gyre]]) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    g = await start(grpc_api_reflection=True)
    stub = reflection_pb2_grpc.ServerReflectionStub(g.channel("grpc_api"))

    async def requests() -> AsyncIterator[Any]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for resp in stub.ServerReflectionInfo(requests()):
        names |= {s.name for s in resp.list_services_response.service}
    assert "centrifugal.centrifugo.api.CentrifugoApi" in names
    assert "grpc.health.v1.Health" in names


async def test_no_reflection_by_default(gyre: Gyre) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(gyre.channel("grpc_api"))

    async def requests() -> AsyncIterator[Any]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    with pytest.raises(grpc.aio.AioRpcError) as e:
        async for _ in stub.ServerReflectionInfo(requests()):
            pass
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_max_receive_message_size(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start(grpc_api_max_receive_message_size=1024)
    api = g.api()
    ok = await api.Publish(api_pb2.PublishRequest(channel="m", data=data("x" * 500)))
    assert ok.result.offset == 1
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api.Publish(api_pb2.PublishRequest(channel="m", data=data("x" * 2000)))
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    h = await api.History(api_pb2.HistoryRequest(channel="m", limit=-1))
    assert h.result.offset == 1


async def test_only_enabled_servers_start(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start(uni_grpc=False, grpc_stream=False)
    assert set(g.grpc.ports) == {"grpc_api"}
    assert g.grpc.ports["grpc_api"] > 0


async def test_port_in_use_fails_cleanly(gyre: Gyre) -> None:
    from gyre_grpc_support import make_config

    from service.grpc_options import grpc_options
    from service.servers.grpc import start_grpc_servers

    taken = gyre.grpc.ports["grpc_stream"]
    cfg = make_config(grpc_api_port=0, uni_grpc_port=0, grpc_stream_port=taken)
    with pytest.raises(OSError):
        await start_grpc_servers(grpc_options(cfg), gyre.server.node, gyre.server.executor)
    # the original servers are untouched
    assert (await gyre.api().Info(api_pb2.InfoRequest())).result.nodes


@pytest.mark.parametrize("via", ["grpc", "http"])
async def test_long_batch_lets_other_work_run(start: Any, via: str) -> None:
    """A batch runs its commands in order but yields to the event loop between slices, so
    a thousand-command batch does not hold every other connection until it ends."""
    import aiohttp

    gyre = await start(api_key="k")
    ex = gyre.server.executor
    done: list[int] = []
    inner = ex.observe

    def counting(protocol: str, method: str, seconds: float, count: int = 1) -> None:
        done.extend([1] * count)
        if inner is not None:
            inner(protocol, method, seconds, count)

    ex.observe = counting
    n = 200
    seen: list[int] = []
    stop = asyncio.Event()

    async def probe() -> None:  # another task of the same loop
        while not stop.is_set():
            seen.append(len(done))
            await asyncio.sleep(0)

    probing = asyncio.create_task(probe())
    try:
        if via == "grpc":
            cmds = [
                api_pb2.Command(publish=api_pb2.PublishRequest(channel="plain:b", data=b"1"))
                for _ in range(n)
            ]
            resp = await gyre.api().Batch(api_pb2.BatchRequest(commands=cmds))
            assert len(resp.replies) == n and all(r.HasField("publish") for r in resp.replies)
        else:
            url = f"http://127.0.0.1:{gyre.server.ports['external']}/api/batch"
            body = {"commands": [{"publish": {"channel": "plain:b", "data": 1}}] * n}
            async with aiohttp.ClientSession() as s:
                async with s.post(url, json=body, headers={"X-API-Key": "k"}) as r:
                    assert r.status == 200
                    assert len((await r.json())["replies"]) == n
    finally:
        stop.set()
        await probing
    assert len(done) == n
    assert any(0 < k < n for k in seen), "no other task ran while the batch was running"


@pytest.mark.parametrize("via", ["grpc", "http", "http-v4"])
async def test_batch_of_one_slice_reaches_a_subscriber_in_one_frame(start: Any, via: str) -> None:
    """A batch of at most ``BATCH_SLICE`` publishes runs without yielding, so a WebSocket
    subscriber gets all of them coalesced in ONE frame (regression: the batch used to yield
    before its last command, splitting every 16-command burst into two writes)."""
    import aiohttp

    # no ping among the frames read (the first one comes at a random moment within 25 s)
    gyre = await start(api_key="k", ping_interval=300.0, pong_timeout=200.0)
    n = BATCH_SLICE
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(gyre.ws_url, protocols=("centrifuge-json",))
        await ws.send_str(json.dumps({"id": 1, "connect": {"token": token("frames")}}))
        await ws.receive_str()
        await ws.send_str(json.dumps({"id": 2, "subscribe": {"channel": "plain:f"}}))
        assert '"id":2' in await ws.receive_str()
        if via == "grpc":
            cmd = api_pb2.Command(publish=api_pb2.PublishRequest(channel="plain:f", data=b"1"))
            resp = await gyre.api().Batch(api_pb2.BatchRequest(commands=[cmd] * n))
            assert len(resp.replies) == n
        else:
            base = f"http://127.0.0.1:{gyre.server.ports['external']}"
            one = {"channel": "plain:f", "data": 1}
            if via == "http":
                url, body = f"{base}/api/batch", json.dumps({"commands": [{"publish": one}] * n})
            else:
                url = f"{base}/api"
                body = "\n".join([json.dumps({"method": "publish", "params": one})] * n)
            async with s.post(url, data=body, headers={"X-API-Key": "k"}) as r:
                assert r.status == 200, await r.text()
        frame = await asyncio.wait_for(ws.receive_str(), 5)
        assert frame.count('"pub"') == n, frame
        await ws.close()


async def test_idempotent_publish_broadcast_and_batch(gyre: Gyre, ws_factory: Any) -> None:
    """idempotency_key (field 6) over gRPC (docs/beyond_v4.md#idempotent-publish): the repeat
    answers the first offset and epoch, and the subscriber gets the publication once."""
    ws = await ws_factory(channels=("idem", "idem2"))
    api = gyre.api()
    first = await api.Publish(
        api_pb2.PublishRequest(channel="idem", data=data({"n": 1}), idempotency_key="k1")
    )
    again = await api.Publish(
        api_pb2.PublishRequest(channel="idem", data=data({"n": 99}), idempotency_key="k1")
    )
    assert first.result.offset == 1 and first.result.epoch
    assert (again.result.offset, again.result.epoch) == (first.result.offset, first.result.epoch)
    bc = api_pb2.BroadcastRequest(
        channels=["idem", "idem2"], data=data({"n": 2}), idempotency_key="k2", delta=True
    )
    b1 = await api.Broadcast(bc)
    b2 = await api.Broadcast(bc)
    assert [r.result.offset for r in b1.result.responses] == [2, 1]
    assert [r.result.offset for r in b2.result.responses] == [2, 1]
    batch = api_pb2.BatchRequest()
    for _ in range(2):
        cmd = batch.commands.add()
        cmd.publish.channel = "idem"
        cmd.publish.data = data({"n": 3})
        cmd.publish.idempotency_key = "k3"
    replies = (await api.Batch(batch)).replies
    assert [r.publish.offset for r in replies] == [3, 3]
    await api.Publish(api_pb2.PublishRequest(channel="idem", data=data({"n": "end"})))
    await ws.wait_push(lambda p: p.get("pub", {}).get("data") == {"n": "end"})
    assert [d["n"] for d in ws.pubs("idem")] == [1, 2, 3, "end"]
    assert [d["n"] for d in ws.pubs("idem2")] == [2]
