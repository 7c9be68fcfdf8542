"""Proxies in operation: centrifuge-js over WebSocket and HTTP-streaming (with the headers it
connects with), a SIGHUP that switches a proxy endpoint under live connections (and one that
is refused), two nodes on Redis (refresh and sub_refresh by the node holding the connection,
a rewritten publication crossing nodes), and the proxy metrics.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import centrifuge
import pytest

from tests.proxy_backends import BackendThread, wait_calls
from tests.redis_fixtures import RedisFactory

from .helpers import ClientEvents, SubEvents, dec, enc, sub_token, token, uid
from .proxy_support import simple_config, start_server, wait_log
from .server import REPO, ServerProcess

JS = REPO / "tests" / "e2e" / "js"
HEADERS = {"Cookie": "sid=js", "Authorization": "Bearer js"}


def answer_all(b: BackendThread) -> None:
    """Connect as ``js-<transport>``; allow subscribes; echo the forwarded headers from RPC;
    upper-case published text."""
    b.http.answer(
        "connect",
        lambda call: {"result": {"user": "js-" + call.body["transport"], "data": {"hello": "js"}}},
    )
    b.http.answer("subscribe", {"result": {"data": {"sub": "ok"}}})
    b.http.answer(
        "rpc",
        lambda call: {
            "result": {
                "data": {
                    "user": call.body["user"],
                    "cookie": call.headers.get("cookie"),
                    "authorization": call.headers.get("authorization"),
                }
            }
        },
    )
    b.http.answer(
        "publish", lambda call: {"result": {"data": {"text": call.body["data"]["text"].upper()}}}
    )


# --- centrifuge-js ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(backends: BackendThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(
        simple_config(backends, prometheus=True), tmp_path_factory.mktemp("po"), "proxy-ops"
    )
    yield srv
    srv.stop()


def run_js(server: ServerProcess, transport: str, protobuf: bool) -> dict[str, Any]:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure_node_deps.sh")], check=True)
    assert shutil.which("node") is not None, "node is not installed"
    endpoint = {
        "websocket": server.ws_url,
        "http_stream": f"{server.http}/connection/http_stream",
    }[transport]
    args = {
        "transports": [{"transport": transport, "endpoint": endpoint}],
        "protobuf": protobuf,
        "headers": HEADERS,
        "channel": f"px:{uid('js')}",
        "emulationEndpoint": f"{server.http}/emulation",
    }
    proc = subprocess.run(
        ["node", str(JS / "proxy.mjs"), json.dumps(args)],
        cwd=JS,
        capture_output=True,
        timeout=60,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result; stdout={proc.stdout!r} stderr={proc.stderr!r}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["ok"], f"{result}\nstderr={proc.stderr}\n{server.log()[-4000:]}"
    return result


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
@pytest.mark.parametrize("transport", ["websocket", "http_stream"])
async def test_centrifuge_js_through_the_proxies(
    server: ServerProcess, backends: BackendThread, transport: str, protobuf: bool
) -> None:
    answer_all(backends)
    result = run_js(server, transport, protobuf)
    assert result["transport"] == transport
    assert result["data"] == {"hello": "js"} and result["subscribeData"] == {"sub": "ok"}
    assert result["rpc"] == {
        "user": "js-" + transport,
        "cookie": "sid=js",
        "authorization": "Bearer js",
    }
    assert result["publication"] == {"text": "HI"}
    [call] = backends.http.of("connect")
    assert call.body["transport"] == transport and "token" not in call.body
    assert call.body["protocol"] == ("protobuf" if protobuf else "json")
    assert call.headers["cookie"] == "sid=js" and call.headers["authorization"] == "Bearer js"


def test_proxy_metrics(server: ServerProcess, backends: BackendThread) -> None:
    answer_all(backends)
    run_js(server, "websocket", False)
    with urllib.request.urlopen(f"{server.http}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert 'centrifugo_proxy_duration_seconds_count{protocol="http",type="connect"}' in text
    assert 'centrifugo_proxy_duration_seconds_count{protocol="http",type="rpc"}' in text
    line = 'centrifugo_proxy_calls{name="",outcome="result",protocol="http",type="publish"}'
    assert line in text
    assert "# TYPE centrifugo_proxy_errors counter" in text


# --- SIGHUP -----------------------------------------------------------------------------


async def test_sighup_switches_a_proxy_endpoint_without_dropping_connections(
    backends: BackendThread, clients: Any, proto: bool, tmp_path: Path
) -> None:
    http = backends.http
    http.answer("rpc_old", {"result": {"data": {"by": "old"}}})
    http.answer("rpc_new", {"result": {"data": {"by": "new"}}})
    cfg = simple_config(backends, proxy_rpc_endpoint=http.url("rpc_old"))
    srv = start_server(cfg, tmp_path / "hup", "proxy-hup")
    try:
        client, events = clients(srv, user=uid("h"))
        await client.connect()
        await events.wait("connected")
        assert dec((await client.rpc("m", enc({}, proto))).data) == {"by": "old"}

        mark = len(srv.log())
        srv.config_path.write_text(json.dumps({**cfg, "proxy_rpc_endpoint": http.url("rpc_new")}))
        srv.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        await wait_log(srv, "configuration reloaded", after=mark)
        assert dec((await client.rpc("m", enc({}, proto))).data) == {"by": "new"}

        # an invalid proxy config is refused with one line; the running one stays
        mark = len(srv.log())
        srv.config_path.write_text(json.dumps({**cfg, "proxy_rpc_endpoint": "ftp://nowhere"}))
        srv.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        line = await wait_log(srv, "reload refused", after=mark)
        assert line.endswith(
            'keeping the running configuration: proxy_rpc_endpoint: "ftp://nowhere" is '
            "neither an http(s):// URL nor a gRPC address (grpc://host:port or host:port)"
        )
        assert dec((await client.rpc("m", enc({}, proto))).data) == {"by": "new"}
        assert len(events.of("connected")) == 1 and not events.of("disconnected")
        assert [c.code for c in events.of("connecting")] == [0]
    finally:
        srv.stop()


# --- two nodes on Redis ---------------------------------------------------------------------


@pytest.fixture
def redis() -> Iterator[RedisFactory]:
    factory = RedisFactory()
    try:
        yield factory
    finally:
        factory.close()


def sdk(srv: ServerProcess, **kw: Any) -> tuple[centrifuge.Client, Any]:
    events = ClientEvents()
    return centrifuge.Client(srv.ws_url, events=events, proxy=None, **kw), events


async def test_two_nodes_on_redis(
    backends: BackendThread, redis: RedisFactory, tmp_path: Path
) -> None:
    """Node B holds the connection: the refresh and sub_refresh calls come from B's
    endpoints, never from A's; a publication rewritten by A's publish proxy reaches a
    subscriber on B."""
    http = backends.http
    r = redis.server()
    user = uid("n")
    http.answer(
        "connect", lambda call: {"result": {"user": user, "expire_at": int(time.time()) + 1}}
    )
    http.answer("refresh_b", lambda call: {"result": {"expire_at": int(time.time()) + 1}})
    http.answer("sub_refresh_b", lambda call: {"result": {"expire_at": int(time.time()) + 1}})
    http.answer("subscribe", {"result": {}})
    http.answer("publish", lambda call: {"result": {"data": {"via": "A", **call.body["data"]}}})
    nodes = {}
    for name in ("a", "b"):
        cfg = simple_config(
            backends,
            engine="redis",
            redis_address=r.address,
            proxy_refresh_endpoint=http.url(f"refresh_{name}"),
            proxy_sub_refresh_endpoint=http.url(f"sub_refresh_{name}"),
        )
        nodes[name] = start_server(cfg, tmp_path / name, f"node-{name}")
    try:
        reader, rev = sdk(nodes["b"])  # no token: the connect proxy, expiring in 1 s
        await reader.connect()
        await rev.wait("connected")
        sev = SubEvents()
        channel = f"px:{uid('x')}"
        sub = reader.new_subscription(channel, events=sev)
        await sub.subscribe()
        await sev.wait("subscribed")
        sr_channel = f"sr:{uid('y')}"
        srev = SubEvents()
        srsub = reader.new_subscription(
            sr_channel, events=srev, token=sub_token(user, sr_channel, ttl=1)
        )
        await srsub.subscribe()
        await srev.wait("subscribed")

        writer, _ = sdk(nodes["a"], token=token(uid("w")))
        await writer.connect()
        await writer.publish(channel, {"text": "hi"})
        [pub] = await sev.publications(1)
        assert dec(pub.pub.data) == {"via": "A", "text": "hi"}

        await wait_calls(http, "refresh_b", 2, timeout=6)
        await wait_calls(http, "sub_refresh_b", 1, timeout=6)
        assert not http.of("refresh_a") and not http.of("sub_refresh_a")
        assert [c.code for c in rev.of("connecting")] == [0] and not rev.of("disconnected")
        await writer.disconnect()
        await reader.disconnect()
    finally:
        for srv in nodes.values():
            srv.stop()
