"""Connect proxy with the official centrifuge-python SDK (JSON and Protobuf) against the real
server process: credentials, data and server-side channels from an HTTP and a gRPC backend,
the headers a WebSocket client's handshake carries, and every way a backend can refuse or fail
(exact codes), while the server keeps serving everyone else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from centrifugal.centrifugo.proxy import proxy_pb2

from tests.proxy_backends import BackendThread, Slow, Status, closed_port_url, wait_calls

from .helpers import SubEvents, dec, enc, uid
from .proxy_support import granular_config, simple_config, start_server
from .server import ServerProcess, base_config

HEADERS = {"Cookie": "sid=s1", "Authorization": "Bearer b1", "X-Not-Listed": "no"}


@pytest.fixture(scope="module")
def server(backends: BackendThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(simple_config(backends), tmp_path_factory.mktemp("px"), "proxy-simple")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def granular(backends: BackendThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(granular_config(backends), tmp_path_factory.mktemp("pg"), "proxy-granular")
    yield srv
    srv.stop()


async def connected_jwt_client(server: ServerProcess, clients: Any) -> None:
    """Another client (JWT) connects and is served: one bad backend answer harms no one."""
    client, events = clients(server, user=uid("jwt"))
    await client.connect()
    await events.wait("connected")


async def test_connect_through_http_proxy(
    server: ServerProcess, backends: BackendThread, clients: Any, proto: bool, api_factory: Any
) -> None:
    user = uid("ann")
    backends.http.answer(
        "connect",
        {
            "result": {
                "user": user,
                "info": {"name": "Ann"},
                "data": {"welcome": "Ann"},
                "channels": [f"srv:{user}"],
                "meta": {"tier": "gold"},
            }
        },
    )
    backends.http.answer("rpc", lambda call: {"result": {"data": {"meta": call.body.get("meta")}}})
    client, events = clients(server, data=enc({"hello": 1}, proto), headers=HEADERS)
    await client.connect()
    connected = await events.wait("connected")
    assert dec(connected.data) == {"welcome": "Ann"}
    await events.wait("subscribed", lambda c: c.channel == f"srv:{user}")

    [call] = await wait_calls(backends.http, "connect")
    assert call.body == {
        "client": connected.client,
        "transport": "websocket",
        "protocol": "protobuf" if proto else "json",
        "encoding": "json",
        "data": {"hello": 1},
        "name": "python",
    }
    assert call.headers["cookie"] == "sid=s1"
    assert call.headers["authorization"] == "Bearer b1"
    assert "x-not-listed" not in call.headers

    # the proxy's user and info are the connection's; its channel delivers publications
    api = api_factory(server)
    presence = (await api.raw("presence", {"channel": f"srv:{user}"}))["result"]["presence"]
    [info] = presence.values()
    assert info["user"] == user and info["conn_info"] == {"name": "Ann"}
    await api.raw("publish", {"channel": f"srv:{user}", "data": {"n": 1}})
    pub = await events.wait("publication", lambda c: c.channel == f"srv:{user}")
    assert dec(pub.pub.data) == {"n": 1}
    # the proxy's meta goes along with later proxy calls (proxy_include_connection_meta)
    assert dec((await client.rpc("m", enc({}, proto))).data) == {"meta": {"tier": "gold"}}


async def test_connect_through_grpc_proxy(
    granular: ServerProcess, backends: BackendThread, clients: Any, proto: bool, api_factory: Any
) -> None:
    user = uid("bob")
    backends.grpc.answer(
        "Connect",
        proxy_pb2.ConnectResponse(
            result=proxy_pb2.ConnectResult(
                user=user,
                info=b'{"name":"Bob"}',
                data=b'{"welcome":"Bob"}',
                channels=[f"srv:{user}"],
            )
        ),
    )
    client, events = clients(granular, headers=HEADERS)
    await client.connect()
    connected = await events.wait("connected")
    assert dec(connected.data) == {"welcome": "Bob"}
    await events.wait("subscribed", lambda c: c.channel == f"srv:{user}")
    [call] = await wait_calls(backends.grpc, "Connect")
    assert call.body.client == connected.client and call.body.name == "python"
    assert call.body.protocol == ("protobuf" if proto else "json")
    assert call.headers["cookie"] == "sid=s1"  # as metadata
    assert "authorization" not in call.headers  # not in this proxy's http_headers
    assert call.headers["x-centrifugo-key"] == "k1"  # grpc_credentials_key/value
    presence = await api_factory(granular).raw("presence", {"channel": f"srv:{user}"})
    [info] = presence["result"]["presence"].values()
    assert info["user"] == user and info["conn_info"] == {"name": "Bob"}


async def test_null_members_of_an_answer_count_as_absent(
    server: ServerProcess, backends: BackendThread, clients: Any, proto: bool, api_factory: Any
) -> None:
    """A backend that writes ``null`` for what it leaves empty (Go's encoding/json does so for
    a nil slice, many serializers for None) is understood as Centrifugo v4 understands it: the
    member is absent.  Connect, subscribe (override) and publish answers of that shape work."""
    user = uid("nul")
    absent: dict[str, Any] = {"error": None, "disconnect": None}
    backends.http.answer(
        "connect",
        {
            **absent,
            "result": {
                "user": user,
                "expire_at": None,
                "info": {"plan": "free"},
                "b64info": None,
                "data": None,
                "channels": None,
                "subs": None,
                "meta": None,
            },
        },
    )
    backends.http.answer(
        "subscribe",
        {
            **absent,
            "result": {
                "info": None,
                "data": {"kept": None},  # a payload keeps its own nulls
                "expire_at": None,
                "override": {"presence": None, "join_leave": {"value": None}},
            },
        },
    )
    backends.http.answer(
        "publish", {**absent, "result": {"data": None, "b64data": None, "skip_history": None}}
    )
    client, events = clients(server)
    await client.connect()
    await events.wait("connected")
    channel = f"px:{uid('room')}"
    sev = SubEvents()
    sub = client.new_subscription(channel, events=sev)
    await sub.subscribe()
    ok = await sev.wait("subscribed")
    assert dec(ok.data) == {"kept": None}
    await sub.publish(enc({"text": "as sent"}, proto))
    pub = await sev.wait("publication")
    assert dec(pub.pub.data) == {"text": "as sent"}
    assert pub.pub.info is not None and pub.pub.info.user == user
    presence = (await api_factory(server).raw("presence", {"channel": channel}))["result"]
    [info] = presence["presence"].values()
    assert info["user"] == user and info["conn_info"] == {"plan": "free"}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"error": {"code": 1403, "message": "go away"}}, 1403),
        ({"disconnect": {"code": 4501, "reason": "banned"}}, 4501),
        ({}, 3501),
    ],
    ids=["error", "disconnect", "empty"],
)
async def test_connect_refused(
    server: ServerProcess,
    backends: BackendThread,
    clients: Any,
    answer: dict[str, Any],
    code: int,
) -> None:
    """The backend's error and disconnect reach the client as they are; no result means no
    credentials: 3501.  All three end the SDK's connection for good."""
    backends.http.answer("connect", answer)
    client, events = clients(server)
    await client.connect()
    disconnected = await events.wait("disconnected")
    assert disconnected.code == code
    if code != 3501:
        assert disconnected.reason in ("go away", "banned")
    await connected_jwt_client(server, clients)


@pytest.mark.parametrize("failure", ["http-500", "timeout"])
async def test_connect_proxy_failure_is_error_100(
    server: ServerProcess, backends: BackendThread, clients: Any, failure: str
) -> None:
    """A non-200 answer or no answer within proxy_connect_timeout (500 ms): error 100,
    temporary, so the SDK tries again (and gets in once the backend recovers)."""
    user = uid("late")
    attempts = 0

    def answer(call: Any) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts >= 3:
            return {"result": {"user": user}}
        return Status(500) if failure == "http-500" else Slow(2.0, {"result": {"user": "x"}})

    backends.http.answer("connect", answer)
    client, events = clients(server)
    started = time.monotonic()
    await client.connect()
    err = await events.wait("error")
    assert err.error.code == 100 and err.error.temporary
    await events.wait("connected", timeout=10)
    assert attempts == 3 and not events.of("disconnected")
    if failure == "timeout":
        assert time.monotonic() - started < 5  # 2 x 500 ms timeouts + reconnect delays
    await connected_jwt_client(server, clients)


async def test_connect_proxy_on_a_closed_port(tmp_path: Path, clients: Any) -> None:
    """Connection refused by the backend: error 100 on every attempt; JWT clients unharmed."""
    srv = start_server(
        base_config(proxy_connect_endpoint=closed_port_url()), tmp_path / "closed", "closed"
    )
    try:
        client, events = clients(srv)
        await client.connect()
        err = await events.wait("error", n=2)
        assert err.error.code == 100
        assert not events.of("connected")
        await connected_jwt_client(srv, clients)
        assert re.search(r"ERROR gyre.proxy: proxy connect \(http://\S+\) failed", srv.log())
    finally:
        srv.stop()
