"""centrifuge-js 2.x, the last client protocol v1 SDK (npm alias ``centrifuge2``), unchanged.

``tests/e2e/js/scenario_v1.mjs`` connects with a token that expires in 3 s, subscribes,
receives a server API publication and its own publish, reads presence, presence stats and
history, stays connected past the first token (refresh through ``onRefresh``), then is
disconnected by the server API and must read the v1 JSON close reason.  Run over WebSocket
with ``?cf_protocol_version=v1`` and with ``use_client_protocol_v1_by_default``, and over
SockJS (websocket and xhr-streaming).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from .server import API_KEY, SECRET, base_config
from .test_js_sdk import JsServer, node_ready, run_node

__all__ = ["node_ready"]

NS = "v1chat"
NAMESPACES = [
    {
        "name": NS,
        "allow_subscribe_for_client": True,
        "allow_publish_for_client": True,
        "allow_presence_for_client": True,
        "allow_history_for_client": True,
        "presence": True,
        "history_size": 10,
        "history_ttl": "300s",
    }
]


def _server(tmp: Any, **overrides: Any) -> Iterator[JsServer]:
    cfg_path = tmp / "config.json"
    cfg_path.write_text(json.dumps(base_config(namespaces=NAMESPACES, sockjs=True, **overrides)))
    server = JsServer([sys.executable, "-m", "service", "-c", str(cfg_path)], tmp)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def v2_default(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsServer]:
    yield from _server(tmp_path_factory.mktemp("js_v1_query"))


@pytest.fixture(scope="module")
def v1_default(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsServer]:
    yield from _server(
        tmp_path_factory.mktemp("js_v1_default"), use_client_protocol_v1_by_default=True
    )


def run_v1(server: JsServer, url: str, sockjs: list[str] | None) -> Any:
    user = f"v1u{time.monotonic_ns()}"
    now = int(time.time())
    args = {
        "base": server.http,
        "url": url,
        "apiKey": API_KEY,
        "user": user,
        "token": jwt.encode({"sub": user, "exp": now + 3}, SECRET, "HS256"),
        "refreshToken": jwt.encode({"sub": user, "exp": now + 3600}, SECRET, "HS256"),
        "channel": f"{NS}:{user}",
        "sockjs": sockjs,
        "stayMs": 5000,
    }
    return run_node(server, "scenario_v1.mjs", args)


def check(result: Any) -> None:
    pubs = result["publications"]
    assert [p["data"] for p in pubs] == [{"from": "api"}, {"from": "client"}]
    assert [p["offset"] for p in pubs] == [1, 2]
    assert pubs[1]["info"] == result["client"]
    assert result["presence"] == [result["client"]]
    assert result["presenceStats"] == {"clients": 1, "users": 1}
    assert result["history"] == [{"from": "api"}, {"from": "client"}]
    assert result["refreshes"] >= 1 and result["stillConnected"] is True
    assert result["disconnect"] == {"reason": "force disconnect", "reconnect": False}


def test_v1_websocket_query(v2_default: JsServer) -> None:
    ws = v2_default.http.replace("http://", "ws://")
    check(run_v1(v2_default, f"{ws}/connection/websocket?cf_protocol_version=v1", None))


def test_v1_websocket_by_default(v1_default: JsServer) -> None:
    ws = v1_default.http.replace("http://", "ws://")
    result = run_v1(v1_default, f"{ws}/connection/websocket", None)
    check(result)
    assert result["transport"] == "websocket"


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming"])
def test_v1_sockjs(v1_default: JsServer, transport: str) -> None:
    result = run_v1(v1_default, f"{v1_default.http}/connection/sockjs", [transport])
    check(result)
    assert result["transport"] == f"sockjs-{transport}"
