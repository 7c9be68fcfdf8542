"""Two real server processes with ``"broker": "nats"`` on one real nats-server, observed the
way a user does: centrifuge-python clients, the ``cent`` API client, generic gRPC calls and
raw HTTP-streaming.

* publications sent through node B's HTTP and gRPC APIs reach a client on node A;
* ``info`` lists both nodes, ``channels`` is cluster-wide, disconnect / unsubscribe by user
  reach the node holding the user, ``/emulation`` POSTs to B drive a stream living on A;
* history and presence answer what Centrifugo v4 answers with the memory engine and the NATS
  broker (error 100 for channels configured with them, 108 for the others);
* nats-server killed and restarted: no crash, health 503 and back, publishing resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import centrifuge
import grpc
import pytest

from tests.nats_fixtures import NatsFactory, NatsProcess
from tests.redis_fixtures import RedisFactory

from .helpers import Api, ClientEvents, RawWS, SubEvents, dec, token, uid
from .redis_cluster_helpers import HttpStreamClient, RoundRobinProxy, eventually, start_servers
from .server import ServerProcess, base_config
from .test_ops import API, pb_field, pb_fields

NAMES = ("nats-a", "nats-b")
NAMESPACES: list[dict[str, Any]] = [
    {
        "name": "chat",
        "allow_subscribe_for_client": True,
        "allow_publish_for_client": True,
        "allow_presence_for_client": True,
        "presence": True,
        "join_leave": True,
        "force_push_join_leave": True,
    },
    {"name": "plain", "allow_subscribe_for_client": True},
    {
        "name": "hist",
        "allow_subscribe_for_client": True,
        "allow_history_for_client": True,
        "history_size": 10,
        "history_ttl": "300s",
    },
]


def nats_node_config(name: str, nats_url: str) -> dict[str, Any]:
    return base_config(
        name=name,
        broker="nats",
        nats_url=nats_url,
        nats_prefix="gyre-e2e",
        http_stream=True,
        namespaces=NAMESPACES,
        grpc_api=True,
        grpc_api_address="127.0.0.1",
        grpc_api_port=0,
    )


def grpc_api_port(server: ServerProcess) -> int:
    m = re.search(r"gRPC grpc_api listening on \S+?:(\d+)", server.log())
    assert m, server.log()
    return int(m.group(1))


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nats_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[NatsProcess, list[ServerProcess]]]:
    factory = NatsFactory()
    servers: list[ServerProcess] = []
    try:
        nats = factory.server()
        root = tmp_path_factory.mktemp("nats_cluster")
        servers = start_servers([(n, nats_node_config(n, nats.url)) for n in NAMES], root)
        yield nats, servers
    finally:
        for s in servers:
            s.stop()
        factory.close()


@pytest.fixture
async def meshed(nats_cluster: tuple[NatsProcess, list[ServerProcess]]) -> list[ServerProcess]:
    """Both nodes once each one's ``info`` lists both (nodes announce themselves periodically)."""
    _, servers = nats_cluster
    for s in servers:
        await eventually(
            lambda s=s: Api(s.api_url)("info"),
            lambda r: sorted(n["name"] for n in r["nodes"]) == sorted(NAMES),
            timeout=15,
            what=f"info on {s.name} to list both nodes",
        )
    return servers


@pytest.fixture
async def sdk() -> AsyncIterator[Callable[..., tuple[Any, Any]]]:
    made: list[centrifuge.Client] = []

    def make(server: ServerProcess, user: str, proto: bool = False) -> Any:
        events = ClientEvents()
        client = centrifuge.Client(
            server.ws_url,
            events=events,
            token=token(user),
            use_protobuf=proto,
            max_reconnect_delay=0.5,
            proxy=None,
        )
        made.append(client)
        return client, events

    yield make
    for client in made:
        with contextlib.suppress(Exception):
            await client.disconnect()


async def connected(sdk: Any, server: ServerProcess, user: str = "", proto: bool = False) -> Any:
    client, events = sdk(server, user or uid(), proto)
    await client.connect()
    await client.ready(timeout=5)
    await events.wait("connected")
    return client, events


async def subscribed(client: Any, channel: str) -> tuple[Any, SubEvents]:
    events = SubEvents()
    sub = client.new_subscription(channel, events=events)
    await sub.subscribe()
    await sub.ready(timeout=5)
    return sub, events


# -- two nodes on one nats-server -----------------------------------------------------------------
async def test_info_lists_both_nodes(meshed: list[ServerProcess]) -> None:
    for s in meshed:
        nodes = (await Api(s.api_url)("info"))["nodes"]
        assert nodes[0]["name"] == s.name  # the answering node comes first
        assert sorted(n["name"] for n in nodes) == sorted(NAMES)
        assert len({n["uid"] for n in nodes}) == 2


async def test_publications_from_b_http_and_grpc_reach_a(
    meshed: list[ServerProcess], sdk: Any
) -> None:
    a, b = meshed
    ch = f"chat:{uid('x')}"
    json_client, _ = await connected(sdk, a)
    proto_client, _ = await connected(sdk, a, proto=True)
    _, ev_json = await subscribed(json_client, ch)
    _, ev_proto = await subscribed(proto_client, ch)

    res = await Api(b.api_url)("publish", ch, {"via": "http"})
    assert "offset" not in res or not res["offset"]  # no history with NATS
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_api_port(b)}") as channel:
        raw = await channel.unary_unary(API + "Publish")(
            pb_field(1, ch) + pb_field(2, b'{"via":"grpc"}'), timeout=5
        )
        assert 1 not in pb_fields(raw)  # no error
    for ev in (ev_json, ev_proto):
        pubs = await ev.publications(2)
        assert [dec(p.pub.data) for p in pubs] == [{"via": "http"}, {"via": "grpc"}]
        assert all(p.pub.offset == 0 for p in pubs)
    await asyncio.sleep(0.1)
    assert len(ev_json.of("publication")) == 2  # nothing twice


async def test_client_publication_and_join_leave_cross_nodes(
    meshed: list[ServerProcess], sdk: Any
) -> None:
    a, b = meshed
    ch = f"chat:{uid('jl')}"
    watcher, _ = await connected(sdk, a)
    _, ev = await subscribed(watcher, ch)
    bob = uid("bob")
    publisher, _ = await connected(sdk, b, bob)
    sub, _ = await subscribed(publisher, ch)
    join = await ev.wait("join", lambda j: j.info.user == bob)
    assert join.info.user == bob
    await sub.publish({"from": "b"})
    pub = (await ev.publications(1))[0].pub
    assert dec(pub.data) == {"from": "b"} and pub.info.user == bob
    await sub.unsubscribe()
    await ev.wait("leave", lambda j: j.info.user == bob)


async def test_channels_is_cluster_wide(meshed: list[ServerProcess], sdk: Any) -> None:
    a, b = meshed
    prefix = uid("chs")
    one, two = f"plain:{prefix}-one", f"plain:{prefix}-two"
    for server, channels in ((a, [one]), (b, [one, two]), (b, [one])):
        client, _ = await connected(sdk, server)
        for ch in channels:
            await subscribed(client, ch)
    want = {one: {"num_clients": 3}, two: {"num_clients": 1}}
    for s in meshed:
        assert await Api(s.api_url)("channels", pattern=f"plain:{prefix}*") == want, s.name


async def test_user_operations_reach_the_other_node(meshed: list[ServerProcess], sdk: Any) -> None:
    a, b = meshed
    user, other = uid("target"), uid("bystander")
    ch = f"chat:{uid('u')}"
    target, t_events = await connected(sdk, a, user)
    bystander, b_events = await connected(sdk, a, other)
    _, t_sub = await subscribed(target, ch)
    await subscribed(bystander, ch)

    await Api(b.api_url)("unsubscribe", user, ch)
    assert (await t_sub.wait("unsubscribed")).code == 2000

    reply = await Api(b.api_url).raw(
        "disconnect", {"user": user, "disconnect": {"code": 4501, "reason": "bye"}}
    )
    assert "error" not in reply, reply
    gone = await t_events.wait("disconnected")
    assert (gone.code, gone.reason) == (4501, "bye")
    await asyncio.sleep(0.2)
    assert not b_events.of("disconnected")
    assert bystander.state == centrifuge.ClientState.CONNECTED


async def test_http_stream_with_emulation_on_the_other_node(meshed: list[ServerProcess]) -> None:
    """The stream lives on A; its commands are POSTed to /emulation on B only."""
    a, b = meshed
    proxy = await RoundRobinProxy([b.http]).start()
    stream = await HttpStreamClient.open(f"{a.http}/connection/http_stream", token(uid("hs")))
    try:
        assert stream.resp.status == 200
        connect = (await stream.wait(lambda r: r.get("id") == 1))["connect"]
        stream.node, stream.session_id = connect["node"], connect["session"]
        stream.emulation_url = f"{proxy.url}/emulation"

        ch = f"plain:{uid('hs')}"
        sub_id, status = await stream.command(subscribe={"channel": ch})
        assert status == 204
        sub = await stream.wait(lambda r: r.get("id") == sub_id)
        assert "error" not in sub, sub
        assert [(t, p, s) for t, p, s in proxy.served] == [(b.http, "/emulation", 204)]

        await Api(b.api_url)("publish", ch, {"via": "node-b"})
        push = await stream.wait(lambda r: "pub" in r.get("push", {}))
        assert push["push"]["channel"] == ch and push["push"]["pub"]["data"] == {"via": "node-b"}
    finally:
        await stream.close()
        await proxy.close()


async def test_history_and_presence_answer_as_v4(meshed: list[ServerProcess], sdk: Any) -> None:
    """Memory engine + NATS broker in v4: no history, no presence (error 100 where the channel
    is configured with them, 108 where it is not); recovery cannot be offered either."""
    a, b = meshed
    api = Api(b.api_url)
    for method, ch, code in [
        ("history", f"hist:{uid()}", 100),
        ("history", f"chat:{uid()}", 108),
        ("history_remove", f"hist:{uid()}", 100),
        ("presence", f"chat:{uid()}", 100),
        ("presence_stats", f"chat:{uid()}", 100),
        ("presence", f"plain:{uid()}", 108),
    ]:
        reply = await api.raw(method, {"channel": ch})
        assert reply.get("error", {}).get("code") == code, (method, ch, reply)

    client, _ = await connected(sdk, a)
    ch = f"chat:{uid('p')}"
    sub, _ = await subscribed(client, ch)  # presence on: subscribing works
    with pytest.raises(centrifuge.ReplyError) as err:
        await sub.presence()
    assert err.value.code == 100
    hist_sub = client.new_subscription(f"hist:{uid()}", events=SubEvents())
    await hist_sub.subscribe()
    with pytest.raises(centrifuge.ReplyError) as err:
        await hist_sub.history(limit=10)
    assert err.value.code == 100


async def test_wildcard_channel_is_a_bad_request(meshed: list[ServerProcess]) -> None:
    """v4 answers 107 for a channel with a NATS wildcard; the connection stays and can
    subscribe to other channels (the half-made subscription was rolled back)."""
    a, _ = meshed
    ws = await RawWS.open(a.ws_url)
    try:
        await ws.connect(token(uid("w")))
        wild = f"plain:{uid()}.*"
        for _ in range(2):
            reply = await ws.command(subscribe={"channel": wild})
            assert reply["error"]["code"] == 107, reply
        reply = await ws.command(subscribe={"channel": f"plain:{uid()}"})
        assert "subscribe" in reply, reply
    finally:
        await ws.close()


# -- nats-server killed and restarted -------------------------------------------------------------
async def test_nats_restart(tmp_path: Path, sdk: Any) -> None:
    factory = NatsFactory()
    servers: list[ServerProcess] = []
    try:
        nats = factory.server()
        servers = start_servers(
            [(n, nats_node_config(n, nats.url)) for n in ("restart-a", "restart-b")], tmp_path
        )
        a, b = servers
        ch = f"chat:{uid('r')}"
        client, _ = await connected(sdk, a)
        _, ev = await subscribed(client, ch)
        await Api(b.api_url)("publish", ch, {"n": 1})
        await ev.publications(1)

        nats.kill()
        for s in servers:
            await eventually(
                lambda s=s: health(s), lambda st: st == 503, timeout=5, what="health 503"
            )
        reply = await Api(b.api_url).raw("publish", {"channel": ch, "data": {"n": "lost"}})
        assert reply["error"]["code"] == 100

        nats.start()
        for s in servers:
            await eventually(
                lambda s=s: health(s), lambda st: st == 200, timeout=10, what="health back"
            )
        await Api(b.api_url)("publish", ch, {"n": 2})
        pubs = await ev.publications(2)
        assert [dec(p.pub.data) for p in pubs] == [{"n": 1}, {"n": 2}]
        assert all(s.alive() for s in servers)
        assert client.state == centrifuge.ClientState.CONNECTED
    finally:
        for s in servers:
            s.stop()
        factory.close()


async def health(server: ServerProcess) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{server.http}/health") as r:
        return r.status


# -- engine: redis with broker: nats --------------------------------------------------------------
async def test_redis_engine_with_nats_broker(tmp_path: Path, sdk: Any) -> None:
    """``engine: redis`` plus ``broker: nats``, as v4 combines them: publications and control
    go through NATS, presence stays in Redis and is cluster-wide; history answers as with the
    memory engine (the NATS broker keeps none)."""
    nats_factory, redis_factory = NatsFactory(), RedisFactory()
    servers: list[ServerProcess] = []
    try:
        nats, redis = nats_factory.server(), redis_factory.server()
        redis_engine = {"engine": "redis", "redis_address": redis.address}
        configs = [(n, {**nats_node_config(n, nats.url), **redis_engine}) for n in ("ma", "mb")]
        servers = start_servers(configs, tmp_path)
        a, b = servers
        for s in servers:
            await eventually(
                lambda s=s: Api(s.api_url)("info"),
                lambda r: len(r["nodes"]) == 2,
                timeout=15,
                what=f"info on {s.name} to list both nodes",
            )
        ch = f"chat:{uid('m')}"
        client, events = await connected(sdk, a)
        client_id = (await events.wait("connected")).client
        _, ev = await subscribed(client, ch)
        await Api(b.api_url)("publish", ch, {"n": 1})
        [pub] = await ev.publications(1)
        assert dec(pub.pub.data) == {"n": 1}

        # presence of the client on A, read through B: from Redis, not from NATS
        pres = await Api(b.api_url)("presence", ch)
        assert list(pres) == [client_id]
        stats = await Api(b.api_url)("presence_stats", ch)
        assert (stats["num_clients"], stats["num_users"]) == (1, 1)
        keys = redis.command("KEYS", "*")
        assert any(ch.encode() in k for k in keys), keys

        reply = await Api(b.api_url).raw("history", {"channel": f"hist:{uid()}"})
        assert reply["error"]["code"] == 100, reply

        # NATS carries the publications: with it down, publishing fails while presence works
        nats.kill()
        await eventually(lambda: health(b), lambda st: st == 503, timeout=5, what="health 503")
        reply = await Api(b.api_url).raw("publish", {"channel": ch, "data": {"n": 2}})
        assert reply["error"]["code"] == 100, reply
        assert len(await Api(b.api_url)("presence", ch)) == 1
    finally:
        for s in servers:
            s.stop()
        nats_factory.close()
        redis_factory.close()
