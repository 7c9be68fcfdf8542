"""Delta compression, tags filter, idempotent publish and cache recovery as users see them
(docs/beyond_v4.md): centrifuge-js 5.8 under Node (JSON and Protobuf builds,
``tests/e2e/js/beyond.mjs``), centrifuge-python (JSON and Protobuf), the HTTP API in its v4
and v5 shapes, one memory node and two nodes on one Redis.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from centrifuge import DeltaType, Filter, SubscriptionState

from tests.delta_docs import versions

from .beyond_v4_setup import memory_node, redis_nodes
from .helpers import Api, SubEvents, dec, token, uid
from .server import API_KEY, ServerProcess

__all__ = ["memory_node", "redis_nodes"]  # module fixtures

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "e2e" / "js"


@pytest.fixture(scope="module")
def node_ready() -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure_node_deps.sh")], check=True)
    assert shutil.which("node") is not None, "node is not installed"


def run_js(scenario: str, ws: ServerProcess, api: list[ServerProcess], **extra: Any) -> Any:
    user = uid("js")
    args = {
        "scenario": scenario,
        "ws": ws.ws_url,
        "api": [s.http for s in api],
        "apiKey": API_KEY,
        "token": token(user),
        **extra,
    }
    proc = subprocess.run(
        ["node", str(JS / "beyond.mjs"), json.dumps(args)],
        cwd=JS,
        capture_output=True,
        timeout=90,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result; stdout={proc.stdout!r} stderr={proc.stderr!r}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{result}\nstderr={proc.stderr}\n{ws.log()[-3000:]}"
    return result


def js_delta(
    tmp_path: Path,
    ws: ServerProcess,
    api: list[ServerProcess],
    protobuf: bool,
    transport: str = "websocket",
) -> dict[str, Any]:
    docs = [d.decode() for d in versions(20, size=4096)]
    docs_file = tmp_path / "docs.json"
    docs_file.write_text(json.dumps(docs))
    res: dict[str, Any] = run_js(
        "delta",
        ws,
        api,
        channel=f"doc:{uid()}",
        protobuf=protobuf,
        docsFile=str(docs_file),
        transport=transport,
    )
    # before and after the reconnect (SockJS names its own transport too)
    expected = "sockjs-xhr-streaming" if transport == "sockjs" else transport
    assert res["transports"] == [expected] * 2
    assert res["mismatches"] == [] and res["count"] == 20
    assert res["subscribed"][1] == {"recovered": True, "wasRecovering": True}
    stats = res["deltaStats"]
    # full: the first after subscribe and the first recovered one; the rest are deltas
    assert stats["numPublications"] == 20
    assert stats["numFullPayloads"] == 2 and stats["numDeltaPayloads"] == 18
    assert stats["bytesDecoded"] == sum(len(d.encode()) for d in docs)
    assert stats["bytesReceived"] < 0.2 * stats["bytesDecoded"]
    return res


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_delta_across_two_redis_nodes_and_recovery(
    node_ready: None, redis_nodes: list[ServerProcess], tmp_path: Path, protobuf: bool
) -> None:
    """Connected to node A; the first 10 versions published through A, the rest through B
    (5 of them while the client is away: recovered with delta on reconnect)."""
    a, b = redis_nodes
    js_delta(tmp_path, a, [a, b], protobuf)


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_delta_memory_node(
    node_ready: None, memory_node: ServerProcess, tmp_path: Path, protobuf: bool
) -> None:
    js_delta(tmp_path, memory_node, [memory_node, memory_node], protobuf)


@pytest.mark.parametrize(
    ("transport", "protobuf"),
    [("http_stream", False), ("http_stream", True), ("sse", False), ("sockjs", False)],
    ids=["http_stream-json", "http_stream-protobuf", "sse", "sockjs"],
)
def test_js_delta_over_emulated_transports(
    node_ready: None, memory_node: ServerProcess, tmp_path: Path, transport: str, protobuf: bool
) -> None:
    """The same 20 versions, reconnect and recovery over the other bidirectional transports
    of centrifuge-js (commands through ``/emulation``; SockJS with its xhr-streaming)."""
    js_delta(tmp_path, memory_node, [memory_node, memory_node], protobuf, transport)


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_delta_after_a_publication_without_history(
    node_ready: None, memory_node: ServerProcess, protobuf: bool
) -> None:
    """A ``skip_history`` publication (no offset) between delta publications: it arrives full
    and the next one is full too, so the SDK's base is right (a delta against the publication
    before it made centrifuge-js throw)."""
    docs = [d.decode() for d in versions(5, size=2048)]
    steps: list[dict[str, Any]] = [{"data": d} for d in docs]
    steps[2]["params"] = {"skip_history": True}
    res = run_js(
        "steps", memory_node, [memory_node], channel=f"doc:{uid()}", protobuf=protobuf, steps=steps
    )
    assert res["mismatches"] == []
    assert res["offsets"] == [1, 2, None, 3, 4]  # the SDK leaves a missing offset undefined
    stats = res["deltaStats"]
    assert (stats["numFullPayloads"], stats["numDeltaPayloads"]) == (3, 2)


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_tags_filter_live_recovery_and_history(
    node_ready: None, memory_node: ServerProcess, protobuf: bool
) -> None:
    res = run_js("tags", memory_node, [memory_node], channel=f"quotes:{uid()}", protobuf=protobuf)
    # AAPL/MSFT only: live 0, 2, 4; recovered after the reconnect 6, 9; then the marker
    assert res["received"] == [0, 2, 4, 6, 9, 10]
    assert res["offsets"] == [1, 3, 5, 7, 10, 11]
    assert res["subscribed"][1] == {"recovered": True, "wasRecovering": True}
    assert res["history"] == list(range(11))  # the history call itself is not filtered


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_cache_recovery_gets_only_the_latest(
    node_ready: None, redis_nodes: list[ServerProcess], protobuf: bool
) -> None:
    a, b = redis_nodes
    res = run_js("cache", a, [b], channel=f"now:{uid()}", protobuf=protobuf)
    assert res["received"] == [1, 6, 7]  # 2-5 were never delivered
    assert res["offsets"] == [1, 6, 7]
    assert res["subscribed"][1] == {"recovered": True, "wasRecovering": True}


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_js_errors_for_options_a_namespace_does_not_allow(
    node_ready: None, memory_node: ServerProcess, protobuf: bool
) -> None:
    res = run_js("notags", memory_node, [memory_node], channel=f"plain:{uid()}", protobuf=protobuf)
    assert res["unsubscribed"][0]["code"] == 107 and res["subscribed"] == []
    res = run_js("nodelta", memory_node, [memory_node], channel=f"plain:{uid()}", protobuf=protobuf)
    assert res["received"] == [1, 2, 3]
    assert all(v == 0 for v in res["deltaStats"].values())


# -- centrifuge-python ---------------------------------------------------------------------------


async def test_python_sdk_delta_and_tags_filter(
    memory_node: ServerProcess, clients: Any, proto: bool
) -> None:
    api = Api(memory_node.api_url)
    client, _ = clients(memory_node, uid())
    await client.connect()
    doc_channel, tag_channel = f"doc:{uid()}", f"quotes:{uid()}"
    dev, tev = SubEvents(), SubEvents()
    dsub = client.new_subscription(doc_channel, events=dev, delta=DeltaType.FOSSIL)
    tsub = client.new_subscription(
        tag_channel,
        events=tev,
        tags_filter=Filter.all(Filter.eq("ticker", "AAPL"), Filter.gt("price", "100")),
    )
    await dsub.subscribe()
    await tsub.subscribe()
    await dev.wait("subscribed")
    await tev.wait("subscribed")
    docs = versions(10)
    for doc in docs:
        await api("publish", doc_channel, json.loads(doc))
    for ticker, price in (("AAPL", "150.5"), ("MSFT", "200"), ("AAPL", "99"), ("AAPL", "101")):
        await api.raw(
            "publish",
            {
                "channel": tag_channel,
                "data": {"p": price},
                "tags": {"ticker": ticker, "price": price},
            },
        )
    pubs = await dev.publications(10)
    assert [dec(p.pub.data) for p in pubs] == [json.loads(d) for d in docs]
    assert [p.pub.delta for p in pubs] == [False] + [True] * 9
    tpubs = await tev.publications(2)
    assert [dec(p.pub.data)["p"] for p in tpubs] == ["150.5", "101"]
    await api("publish", tag_channel, {"p": "end"})  # no tags: filtered out too
    await api.raw(
        "publish",
        {"channel": tag_channel, "data": {"p": "last"}, "tags": {"ticker": "AAPL", "price": "1e3"}},
    )  # 1e3 is not a plain decimal: no match
    await api.raw(
        "publish",
        {"channel": tag_channel, "data": {"p": "x"}, "tags": {"ticker": "AAPL", "price": "100.01"}},
    )
    await tev.wait("publication", n=3)
    assert [dec(p.pub.data)["p"] for p in tev.of("publication")] == ["150.5", "101", "x"]


async def test_python_sdk_cache_recovery_and_107(
    memory_node: ServerProcess, clients: Any, proto: bool
) -> None:
    """Subscribed, one publication, away while 5 more are published: on reconnect only the
    latest comes, with recovered set; a tags filter in a namespace without it is 107."""
    api = Api(memory_node.api_url)
    channel = f"now:{uid()}"
    client, _ = clients(memory_node, uid())
    await client.connect()
    ev = SubEvents()
    sub = client.new_subscription(channel, events=ev)
    await sub.subscribe()
    await ev.wait("subscribed")
    await api("publish", channel, {"n": 1})
    await ev.wait("publication")
    await client.disconnect()
    for n in range(2, 7):
        await api("publish", channel, {"n": n})
    await client.connect()
    again = await ev.wait("subscribed", n=2)
    assert again.recovered is True and again.was_recovering is True
    await ev.wait("publication", n=2)
    await api("publish", channel, {"n": 7})
    await ev.wait("publication", n=3)
    assert [dec(p.pub.data)["n"] for p in ev.of("publication")] == [1, 6, 7]
    bad = SubEvents()
    refused = client.new_subscription(f"plain:{uid()}", events=bad, tags_filter=Filter.eq("a", "b"))
    await refused.subscribe()
    assert (await bad.wait("unsubscribed")).code == 107
    assert refused.state == SubscriptionState.UNSUBSCRIBED


# -- idempotent publish over HTTP ---------------------------------------------------------------


async def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, json=body, headers={"Authorization": f"apikey {API_KEY}"}) as r,
    ):
        assert r.status == 200, await r.text()
        out: dict[str, Any] = await r.json()
        return out


async def test_idempotent_publish_across_nodes_v4_and_v5_shapes(
    redis_nodes: list[ServerProcess], clients: Any, proto: bool
) -> None:
    """The same publish with one key through node A (v4 /api) and node B (v5 /api/publish):
    both answers carry the first offset and epoch; the subscriber on B gets it once and the
    history holds it once.  A broadcast with a key likewise, per channel."""
    a, b = redis_nodes
    channel, other = f"plain:{uid()}", f"plain:{uid()}"
    client, _ = clients(b, uid())
    await client.connect()
    ev = SubEvents()
    sub = client.new_subscription(channel, events=ev)
    await sub.subscribe()
    await ev.wait("subscribed")
    key = uid("key")
    first = await _post(
        a.api_url,
        {
            "method": "publish",
            "params": {"channel": channel, "data": {"v": 1}, "idempotency_key": key},
        },
    )
    second = await _post(
        b.http + "/api/publish", {"channel": channel, "data": {"v": 2}, "idempotency_key": key}
    )
    assert first["result"]["offset"] == 1 and first["result"]["epoch"]
    assert second["result"] == first["result"]
    bc = {"channels": [channel, other], "data": {"v": 3}, "idempotency_key": key}
    r1 = await _post(a.http + "/api/broadcast", bc)
    r2 = await _post(b.http + "/api/broadcast", bc)
    offsets = [[x["result"]["offset"] for x in r["result"]["responses"]] for r in (r1, r2)]
    assert offsets == [[1, 1], [1, 1]]  # the key was used for channel already: remembered
    await _post(a.http + "/api/publish", {"channel": channel, "data": {"v": "end"}})
    await ev.wait("publication", lambda c: dec(c.pub.data) == {"v": "end"})
    assert [dec(p.pub.data) for p in ev.of("publication")] == [{"v": 1}, {"v": "end"}]
    history = await _post(b.http + "/api/history", {"channel": channel, "limit": -1})
    assert [p["data"] for p in history["result"]["publications"]] == [{"v": 1}, {"v": "end"}]
    nohist = f"nohist:{uid()}"
    one = await _post(
        a.http + "/api/publish", {"channel": nohist, "data": {}, "idempotency_key": "k"}
    )
    two = await _post(
        b.http + "/api/publish", {"channel": nohist, "data": {}, "idempotency_key": "k"}
    )
    assert one == two == {"result": {}}


async def test_idempotency_validation_comes_first(memory_node: ServerProcess) -> None:
    bad = await _post(
        memory_node.http + "/api/publish", {"channel": "", "data": {}, "idempotency_key": "k"}
    )
    assert bad["error"]["code"] == 107
    unknown = await _post(
        memory_node.http + "/api/publish",
        {"channel": "nowhere:x", "data": {}, "idempotency_key": "k"},
    )
    assert unknown["error"]["code"] == 102


def test_sighup_refuses_an_invalid_recovery_mode(memory_node: ServerProcess) -> None:
    """A reload with ``force_recovery_mode: "latest"`` is refused with one log line naming the
    key; the running configuration stays."""
    cfg = json.loads(memory_node.config_path.read_text())
    original = memory_node.config_path.read_text()
    cfg["namespaces"][2]["force_recovery_mode"] = "latest"
    memory_node.config_path.write_text(json.dumps(cfg))
    try:
        mark = len(memory_node.log())
        assert memory_node.proc is not None
        memory_node.proc.send_signal(1)  # SIGHUP
        deadline = time.monotonic() + 10
        while "reload refused" not in memory_node.log()[mark:]:
            assert time.monotonic() < deadline, memory_node.log()[mark:]
            time.sleep(0.05)
        line = next(ln for ln in memory_node.log()[mark:].splitlines() if "reload refused" in ln)
        assert 'namespaces[2].force_recovery_mode: unknown recovery mode: "latest"' in line
    finally:
        memory_node.config_path.write_text(original)
    assert memory_node.alive()
