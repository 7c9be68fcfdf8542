"""The official centrifuge-js SDK (npm ``centrifuge`` 5.x) under Node against the real server.

Each scenario runs ``tests/e2e/js/scenario.mjs`` (connect, subscribe, a publication from the
server API, a client publish, presence, history) over one transport list: WebSocket,
HTTP-streaming alone, SSE alone, fallbacks from a broken WebSocket endpoint, and the protobuf
build over WebSocket and HTTP-streaming.  ``scripts/ensure_node_deps.sh`` installs the npm
packages (``npm ci``); a machine without them fails these tests rather than skipping them.

The server is the real process (``python -m service -c config.json``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from .server import API_KEY, SECRET, base_config

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "e2e" / "js"
SERVING = re.compile(r"serving on (\S+):(\d+)")
CHANNEL_NS = "jschat"

CONFIG = base_config(
    http_stream=True,
    sse=True,
    sockjs=True,
    namespaces=[
        {
            "name": CHANNEL_NS,
            "allow_subscribe_for_client": True,
            "allow_publish_for_client": True,
            "allow_presence_for_client": True,
            "allow_history_for_client": True,
            "presence": True,
            "history_size": 10,
            "history_ttl": "300s",
        }
    ],
)


class JsServer:
    """A server process started from ``argv``; port from its ``serving on`` log line."""

    def __init__(self, argv: list[str], workdir: Path) -> None:
        self.argv = argv
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        with self.log_path.open("wb") as log:
            env = dict(os.environ)
            env.pop("CENTRIFUGO_PORT", None)
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while not self.port:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            m = SERVING.search(self.log())
            if m:
                self.port = int(m.group(2))
            elif time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no port reported:\n{self.log()}")
            else:
                time.sleep(0.02)
        while self.status("GET", "/health") != 200:
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"never healthy:\n{self.log()}")
            time.sleep(0.02)

    def status(self, method: str, path: str) -> int:
        req = urllib.request.Request(self.http + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return 0

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture(scope="module")
def node_ready() -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure_node_deps.sh")], check=True)
    assert shutil.which("node") is not None, "node is not installed"
    assert (JS / "node_modules" / "centrifuge").is_dir(), "npm packages are not installed"


@pytest.fixture(scope="module")
def js_server(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsServer]:
    workdir = tmp_path_factory.mktemp("js_sdk")
    cfg_path = workdir / "config.json"
    cfg_path.write_text(json.dumps(CONFIG, indent=2))
    server = JsServer([sys.executable, "-m", "service", "-c", str(cfg_path)], workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_scenario(
    server: JsServer, transports: list[dict[str, str]], *, protobuf: bool, **extra: Any
) -> Any:
    user = f"js{time.monotonic_ns()}"
    args = {
        "user": user,
        "base": server.http,
        "apiKey": API_KEY,
        "token": jwt.encode({"sub": user, "exp": int(time.time()) + 3600}, SECRET, "HS256"),
        "channel": f"{CHANNEL_NS}:{user}",
        "transports": transports,
        "protobuf": protobuf,
        **extra,
    }
    return run_node(server, "scenario.mjs", args)


def run_node(server: JsServer, script: str, args: dict[str, Any]) -> Any:
    """Run ``tests/e2e/js/<script>`` with ``args``; its last JSON line must say ``ok``."""
    proc = subprocess.run(
        ["node", str(JS / script), json.dumps(args)],
        cwd=JS,
        capture_output=True,
        timeout=60,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, (
        f"no result; stdout={proc.stdout!r} stderr={proc.stderr!r}\n{server.log()[-4000:]}"
    )
    result = json.loads(lines[-1])
    assert result["ok"], f"{result}\nstderr={proc.stderr}\n{server.log()[-4000:]}"
    return result


def endpoints(server: JsServer) -> dict[str, dict[str, str]]:
    ws = server.http.replace("http://", "ws://")
    return {
        "websocket": {"transport": "websocket", "endpoint": f"{ws}/connection/websocket"},
        "http_stream": {
            "transport": "http_stream",
            "endpoint": f"{server.http}/connection/http_stream",
        },
        "sse": {"transport": "sse", "endpoint": f"{server.http}/connection/sse"},
        "sockjs": {"transport": "sockjs", "endpoint": f"{server.http}/connection/sockjs"},
        # broken WebSocket endpoints: a path that 404s, a port nobody listens on
        "ws_404": {"transport": "websocket", "endpoint": f"{ws}/connection/nowhere"},
        "ws_closed": {
            "transport": "websocket",
            "endpoint": "ws://127.0.0.1:9/connection/websocket",
        },
    }


SCENARIOS = {
    "websocket": (["websocket"], False, "websocket"),
    "http_stream": (["http_stream"], False, "http_stream"),
    "sse": (["sse"], False, "sse"),
    "fallback_to_http_stream": (["ws_404", "http_stream", "sse"], False, "http_stream"),
    "fallback_to_sse": (["ws_closed", "sse"], False, "sse"),
    "protobuf_websocket": (["websocket"], True, "websocket"),
    "protobuf_http_stream": (["http_stream"], True, "http_stream"),
    "protobuf_fallback_to_http_stream": (["ws_404", "http_stream"], True, "http_stream"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_centrifuge_js(js_server: JsServer, name: str) -> None:
    keys, protobuf, expected = SCENARIOS[name]
    eps = endpoints(js_server)
    result = run_scenario(js_server, [eps[k] for k in keys], protobuf=protobuf)
    assert result["transport"] == expected
    pubs = result["publications"]
    assert [p["data"] for p in pubs] == [{"from": "api"}, {"from": "client"}]
    assert [p["offset"] for p in pubs] == [1, 2]
    assert pubs[1]["info"] == result["client"]  # the client's own publish carries its info
    assert result["presence"] == [result["client"]]
    assert result["presenceStats"] == {"clients": 1, "users": 1}
    assert result["history"] == [{"from": "api"}, {"from": "client"}]


@pytest.mark.parametrize("sockjs_transport", ["websocket", "xhr-streaming"])
def test_centrifuge_js_sockjs(js_server: JsServer, sockjs_transport: str) -> None:
    """sockjs-client 1.6 as the SDK's SockJS, forced onto one SockJS transport."""
    eps = endpoints(js_server)
    result = run_scenario(
        js_server,
        [eps["sockjs"]],
        protobuf=False,
        sockjsTransports=[sockjs_transport],
        serverDisconnect=True,
    )
    assert result["transport"] == f"sockjs-{sockjs_transport}"
    pubs = result["publications"]
    assert [p["data"] for p in pubs] == [{"from": "api"}, {"from": "client"}]
    assert [p["offset"] for p in pubs] == [1, 2]
    assert result["presence"] == [result["client"]]
    assert result["presenceStats"] == {"clients": 1, "users": 1}
    assert result["history"] == [{"from": "api"}, {"from": "client"}]
    assert result["disconnect"] == {"code": 3503, "reason": "force disconnect"}
