"""Subscribe, publish, RPC, refresh and sub_refresh proxies with centrifuge-python (JSON and
Protobuf) against the real server process and real HTTP / gRPC backends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import centrifuge
import pytest
from centrifugal.centrifugo.proxy import proxy_pb2

from tests.proxy_backends import BackendThread, wait_calls

from .helpers import RawWS, SubEvents, dec, enc, sub_token, token, uid
from .proxy_support import granular_config, simple_config, start_server
from .server import ServerProcess


@pytest.fixture(scope="module")
def server(backends: BackendThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(simple_config(backends), tmp_path_factory.mktemp("pc"), "proxy-channels")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def granular(backends: BackendThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(granular_config(backends), tmp_path_factory.mktemp("pg"), "proxy-granular")
    yield srv
    srv.stop()


async def connected(server: ServerProcess, clients: Any, user: str = "") -> Any:
    """A client connected with a JWT (the connect proxy is not asked when a token is sent)."""
    client, events = clients(server, user=user or uid("u"))
    await client.connect()
    await events.wait("connected")
    return client, events


async def subscribed(client: Any, channel: str, **kw: Any) -> tuple[Any, Any]:
    events = SubEvents()
    sub = client.new_subscription(channel, events=events, **kw)
    await sub.subscribe()
    return sub, events


async def test_subscribe_proxy_allows_with_info_and_data(
    server: ServerProcess, backends: BackendThread, clients: Any, proto: bool, api_factory: Any
) -> None:
    backends.http.answer(
        "subscribe", {"result": {"info": {"role": "reader"}, "data": {"hello": "px"}}}
    )
    user = uid("s")
    client, _ = await connected(server, clients, user)
    channel = f"px:{uid('room')}"
    _, sev = await subscribed(client, channel, data=enc({"want": "in"}, proto))
    ok = await sev.wait("subscribed")
    assert dec(ok.data) == {"hello": "px"}
    [call] = await wait_calls(backends.http, "subscribe")
    assert call.body == {
        "client": call.body["client"],
        "transport": "websocket",
        "protocol": "protobuf" if proto else "json",
        "encoding": "json",
        "user": user,
        "channel": channel,
        "data": {"want": "in"},
    }
    presence = (await api_factory(server).raw("presence", {"channel": channel}))["result"]
    [info] = presence["presence"].values()
    assert info["user"] == user and info["chan_info"] == {"role": "reader"}


async def test_subscribe_proxy_denies_with_custom_code(
    server: ServerProcess, backends: BackendThread, clients: Any
) -> None:
    backends.http.answer("subscribe", {"error": {"code": 1403, "message": "not your room"}})
    client, _ = await connected(server, clients)
    _, sev = await subscribed(client, f"px:{uid('room')}")
    unsub = await sev.wait("unsubscribed")
    assert (unsub.code, unsub.reason) == (1403, "not your room")


async def test_subscribe_proxy_overrides_options(
    server: ServerProcess, backends: BackendThread, clients: Any, api_factory: Any
) -> None:
    """``override`` changes the namespace options of one subscription: presence off for
    one channel (the namespace has it on), join/leave pushes on for another."""
    quiet, loud = f"px:{uid('quiet')}", f"px:{uid('loud')}"
    backends.http.answer(
        "subscribe",
        lambda call: {
            "result": {"override": {"presence": {"value": False}}}
            if call.body["channel"] == quiet
            else {"override": {"force_push_join_leave": {"value": True}}}
        },
    )
    client, _ = await connected(server, clients)
    await (await subscribed(client, quiet))[1].wait("subscribed")
    _, loud_events = await subscribed(client, loud)
    await loud_events.wait("subscribed")
    api = api_factory(server)
    assert (await api.raw("presence", {"channel": quiet}))["result"]["presence"] == {}
    assert len((await api.raw("presence", {"channel": loud}))["result"]["presence"]) == 1
    other, _ = await connected(server, clients, "joiner")
    await (await subscribed(other, loud))[1].wait("subscribed")
    join = await loud_events.wait("join", lambda c: c.info.user == "joiner")
    assert join.info.client != ""


async def test_publish_proxy_rewrites_data_and_skips_history(
    server: ServerProcess, backends: BackendThread, clients: Any, proto: bool, api_factory: Any
) -> None:
    backends.http.answer("subscribe", {"result": {}})

    def publish(call: Any) -> dict[str, Any]:
        text = call.body["data"]["text"]
        return {"result": {"data": {"text": text.upper()}, "skip_history": text == "secret"}}

    backends.http.answer("publish", publish)
    channel = f"px:{uid('chat')}"
    writer, _ = await connected(server, clients, "writer")
    reader, _ = await connected(server, clients, "reader")
    _, rev = await subscribed(reader, channel)
    await rev.wait("subscribed")
    await writer.publish(channel, enc({"text": "hello"}, proto))
    await writer.publish(channel, enc({"text": "secret"}, proto))
    pubs = await rev.publications(2)
    assert [dec(p.pub.data) for p in pubs] == [{"text": "HELLO"}, {"text": "SECRET"}]
    calls = await wait_calls(backends.http, "publish", 2)
    assert calls[0].body["user"] == "writer" and calls[0].body["channel"] == channel
    history = await api_factory(server).raw("history", {"channel": channel, "limit": 10})
    assert [p["data"] for p in history["result"]["publications"]] == [{"text": "HELLO"}]


async def test_rpc_round_trip_over_http(
    server: ServerProcess, backends: BackendThread, clients: Any, proto: bool
) -> None:
    backends.http.answer(
        "rpc",
        lambda call: (
            {"result": {"data": {"sum": sum(call.body["data"]), "m": call.body["method"]}}}
            if call.body["method"] == "sum"
            else {"error": {"code": 1404, "message": "no such method", "temporary": False}}
        ),
    )
    client, _ = await connected(server, clients)
    result = await client.rpc("sum", enc([1, 2, 3], proto))
    assert dec(result.data) == {"sum": 6, "m": "sum"}
    with pytest.raises(centrifuge.ReplyError) as e:
        await client.rpc("nope", enc([], proto))
    assert e.value.code == 1404


async def test_granular_rpc_namespaces_reach_two_backends(
    granular: ServerProcess, backends: BackendThread, clients: Any, proto: bool
) -> None:
    backends.http.answer("rpc_a", lambda call: {"result": {"data": {"by": "http", **call.body}}})
    backends.grpc.answer(
        "RPC",
        lambda call: proxy_pb2.RPCResponse(
            result=proxy_pb2.RPCResult(
                data=b'{"by":"grpc","method":"%s"}' % call.body.method.encode()
            )
        ),
    )
    client, _ = await connected(granular, clients, "g")
    a = dec((await client.rpc("ns-a:x", enc({"q": 1}, proto))).data)
    assert a["by"] == "http" and a["method"] == "ns-a:x" and a["data"] == {"q": 1}
    b = dec((await client.rpc("ns-b:y", enc({}, proto))).data)
    assert b == {"by": "grpc", "method": "ns-b:y"}
    [grpc_call] = backends.grpc.of("RPC")
    assert grpc_call.body.user == "g" and grpc_call.headers["x-centrifugo-key"] == "k1"
    with pytest.raises(centrifuge.ReplyError) as e:
        await client.rpc("ns-c:z", enc({}, proto))
    assert e.value.code == 104  # no such RPC namespace


async def test_refresh_proxy_extends_then_expires(
    server: ServerProcess, backends: BackendThread, clients: Any
) -> None:
    """A connection from the connect proxy expiring in 1 s is extended by the refresh proxy
    (the client is never asked: no token, no ttl) and ends with 3005 when it says expired."""
    user = uid("r")
    connects = 0

    def connect(call: Any) -> dict[str, Any]:
        nonlocal connects
        connects += 1
        if connects > 1:  # the SDK reconnects after 3005: not again
            return {"error": {"code": 1403, "message": "bye"}}
        return {"result": {"user": user, "expire_at": int(time.time()) + 1}}

    refreshes = 0

    def refresh(call: Any) -> dict[str, Any]:
        nonlocal refreshes
        refreshes += 1
        if refreshes == 1:
            return {"result": {"expire_at": int(time.time()) + 1, "info": {"r": 1}}}
        return {"result": {"expired": True}}

    backends.http.answer("connect", connect)
    backends.http.answer("refresh", refresh)
    client, events = clients(server)
    await client.connect()
    await events.wait("connected")
    [first] = await wait_calls(backends.http, "refresh", 1, timeout=4)
    assert first.body["user"] == user
    assert [c.code for c in events.of("connecting")] == [0]  # connected all along
    reconnecting = await events.wait("connecting", lambda c: c.code == 3005, timeout=5)
    assert reconnecting.reason == "connection expired"
    assert refreshes == 2


async def test_client_refresh_is_refused_when_the_server_refreshes(
    server: ServerProcess, backends: BackendThread, clients: Any
) -> None:
    """With a refresh proxy the server refreshes: a client ``refresh`` command is 3501."""
    ws = await RawWS.open(server.ws_url)
    try:
        connect = await ws.connect(token(uid("t"), ttl=60))
        assert "expires" not in connect
        await ws.send({"id": 9, "refresh": {"token": token("x")}})
        closed = await ws.closed()
        assert closed.code == 3501
    finally:
        await ws.close()


async def test_sub_refresh_proxy_extends_then_unsubscribes(
    server: ServerProcess, backends: BackendThread, clients: Any
) -> None:
    """A subscription token expiring in 1 s in a namespace with the sub_refresh proxy: the
    proxy extends it once (client_expired_sub_close_delay 1 s after expiry), then says
    expired: unsubscribe 2501."""
    calls = 0

    def sub_refresh(call: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"result": {"expire_at": int(time.time()) + 1}}
        return {"result": {"expired": True}}

    backends.http.answer("sub_refresh", sub_refresh)
    user = uid("sr")
    channel = f"sr:{uid('c')}"
    client, _ = await connected(server, clients, user)
    _, sev = await subscribed(client, channel, token=sub_token(user, channel, ttl=1))
    ok = await sev.wait("subscribed")
    assert ok is not None
    first = (await wait_calls(backends.http, "sub_refresh", 1, timeout=5))[0]
    assert first.body == {
        "client": first.body["client"],
        "transport": "websocket",
        "protocol": first.body["protocol"],
        "encoding": "json",
        "user": user,
        "channel": channel,
    }
    assert [c.code for c in sev.of("subscribing")] == [0]  # still subscribed
    again = await sev.wait("subscribing", lambda c: c.code == 2501, timeout=6)
    assert again.reason == "subscription expired" and calls == 2
