"""Metrics end to end: a server in-process, a scripted WebSocket session, a real scrape.

The real composition root (``start_server`` with ``prometheus: true``) serves ``/metrics``
and ``/api`` on its port bound to 127.0.0.1:0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from service import __version__
from service.app import Server, start_server
from service.auth import generate_token
from service.config import load_config
from service.metrics import Metrics

SECRET = "metrics-e2e-secret"
API_KEY = "metrics-e2e-api-key"
TIMEOUT = 5.0


@dataclass
class Harness:
    server: Server
    metrics: Metrics
    base: str  # http://127.0.0.1:<port> of the metrics/API site
    ws_url: str


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "token_hmac_secret_key": SECRET,
                "api_key": API_KEY,
                "address": "127.0.0.1",
                "port": 0,
                "prometheus": True,
                "log_level": "error",
                "shutdown_timeout": "2s",
                "namespaces": [
                    {
                        "name": "chat",
                        "allow_subscribe_for_client": True,
                        "history_size": 10,
                        "history_ttl": "60s",
                        "force_recovery": True,
                    }
                ],
            }
        )
    )
    cfg, _warnings = load_config(str(path), env={})
    assert cfg.prometheus
    server = await start_server(cfg)  # the composition root wires metrics when prometheus is on
    metrics = server.metrics
    assert metrics is not None
    port = server.ports["external"]
    try:
        yield Harness(
            server=server,
            metrics=metrics,
            base=f"http://127.0.0.1:{port}",
            ws_url=f"ws://127.0.0.1:{server.ports['external']}/connection/websocket",
        )
    finally:
        await server.stop()


class Client:
    """A JSON-protocol WebSocket client driven by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.pushes: list[dict[str, Any]] = []

    async def frames(self) -> list[dict[str, Any]]:
        msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(msg.type, msg.data, msg.extra)
        out = []
        for line in msg.data.split("\n"):
            if not line:
                continue
            frame = json.loads(line)
            if not frame:  # ping
                await self.ws.send_str("{}")
                continue
            out.append(frame)
        return out

    async def command(self, **cmd: Any) -> dict[str, Any]:
        self.next_id += 1
        cid = self.next_id
        await self.ws.send_str(json.dumps({"id": cid, **cmd}))
        while True:
            for frame in await self.frames():
                if frame.get("id") == cid:
                    return frame
                self.pushes.append(frame)

    async def push(self) -> dict[str, Any]:
        while not self.pushes:
            self.pushes.extend(await self.frames())
        return self.pushes.pop(0)

    async def closed(self) -> int | None:
        """Read until the server closes the connection; return the close code."""
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return self.ws.close_code if msg.type != aiohttp.WSMsgType.CLOSE else msg.data


async def api(session: aiohttp.ClientSession, base: str, method: str, **params: Any) -> Any:
    async with session.post(
        f"{base}/api",
        json={"method": method, "params": params},
        headers={"Authorization": f"apikey {API_KEY}"},
    ) as resp:
        assert resp.status == 200
        reply = await resp.json()
        assert "error" not in reply, reply
        return reply.get("result")


async def scrape(session: aiohttp.ClientSession, base: str) -> dict[str, Metric]:
    async with session.get(f"{base}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
        assert resp.headers.get("Content-Encoding") == "gzip"  # aiohttp asks for gzip
        text = await resp.text()
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(families: dict[str, Metric], sample: str, **labels: str) -> float | None:
    for family in families.values():
        for s in family.samples:
            name = s.name
            if family.type == "counter" and name == family.name + "_total":
                name = family.name  # Go-style counter exposed without _total
            if name == sample and s.labels == labels:
                return float(s.value)
    return None


async def test_scripted_session_is_counted(harness: Harness) -> None:
    token = generate_token(secret=SECRET, user="alice", ttl=3600)
    async with aiohttp.ClientSession() as session:
        before = await scrape(session, harness.base)
        assert value(before, "centrifugo_node_num_clients") == 0
        assert value(before, "centrifugo_node_build", version=__version__) == 1

        ws = await session.ws_connect(harness.ws_url)
        client = Client(ws)
        reply = await client.command(connect={"token": token})
        assert "connect" in reply, reply

        sub = await client.command(subscribe={"channel": "chat:room"})
        assert "subscribe" in sub, sub
        epoch = sub["subscribe"]["epoch"]
        offset = sub["subscribe"].get("offset", 0)

        await api(session, harness.base, "publish", channel="chat:room", data={"n": 1})
        push = await client.push()
        assert push["push"]["pub"]["data"] == {"n": 1}

        unsub = await client.command(unsubscribe={"channel": "chat:room"})
        assert "unsubscribe" in unsub, unsub
        resub = await client.command(
            subscribe={"channel": "chat:room", "recover": True, "epoch": epoch, "offset": offset}
        )
        assert resub["subscribe"].get("recovered") is True, resub

        unknown = await client.command(subscribe={"channel": "nowhere:x"})
        assert unknown["error"]["code"] == 102, unknown

        live = await scrape(session, harness.base)
        assert value(live, "centrifugo_node_num_clients") == 1
        assert value(live, "centrifugo_node_num_users") == 1
        assert value(live, "centrifugo_node_num_subscriptions") == 1
        assert value(live, "centrifugo_node_num_channels") == 1
        assert value(live, "centrifugo_node_num_nodes") == 1
        assert value(live, "centrifugo_transport_connect_count", transport="websocket") == 1
        assert (
            value(live, "centrifugo_client_num_reply_errors", method="subscribe", code="102") == 1
        )
        assert len(live["centrifugo_client_num_reply_errors"].samples) == 1
        assert value(live, "centrifugo_client_recover", recovered="yes") == 1
        cmd = "centrifugo_client_command_duration_seconds_count"
        assert (value(live, cmd, method="connect") or 0) >= 1
        assert value(live, cmd, method="subscribe") == 3
        assert value(live, cmd, method="unsubscribe") == 1
        api_count = "centrifugo_api_command_duration_seconds_count"
        assert value(live, api_count, protocol="http", method="publish") == 1
        hist = "centrifugo_api_command_duration_seconds_histogram_bucket"
        assert value(live, hist, protocol="http", method="publish", le="+Inf") == 1
        assert "process_resident_memory_bytes" in live or "python_info" in live

        # a server-side disconnect is counted with its code; the gauges drop back
        await api(
            session,
            harness.base,
            "disconnect",
            user="alice",
            disconnect={"code": 4000, "reason": "bye"},
        )
        assert await client.closed() == 4000
        after = await scrape(session, harness.base)
        assert value(after, "centrifugo_client_num_server_disconnects", code="4000") == 1
        assert value(after, "centrifugo_node_num_clients") == 0
        assert value(after, "centrifugo_node_num_subscriptions") == 0
        assert value(after, api_count, protocol="http", method="disconnect") == 1


async def test_metrics_site_any_method_and_no_global_registry(harness: Harness) -> None:
    """POST works too (promhttp answers any method) and nothing leaks to the default REGISTRY."""
    from prometheus_client import REGISTRY

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{harness.base}/metrics", headers={"Accept-Encoding": "identity"}) as resp,
    ):
        assert resp.status == 200
        assert "Content-Encoding" not in resp.headers
        assert "# TYPE centrifugo_transport_connect_count counter" in await resp.text()
    assert not [f for f in REGISTRY.collect() if f.name.startswith("centrifugo")]
