"""/emulation answers (docs/transports.md#emulation), CORS and origins
(docs/transports.md#common-rules), connection limits (503)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from centrifugal.centrifuge.protocol import client_pb2

from .harness import raw_request, running, wait_for
from .test_http_stream import connect_cmd, emulate, open_json_stream


async def test_emulation_statuses(tmp_path: Path) -> None:
    async with running(tmp_path, emulation_max_request_body_size=300) as h:
        url = f"{h.base}/emulation"
        r, res = await open_json_stream(h, "em")
        # unknown node -> 404 (centrifuge-js reconnects)
        assert await emulate(h, res["session"], "no-such-node", {"id": 2, "ping": {}}) == 404
        # unknown session on a known node -> 204, dropped (v4)
        assert await emulate(h, "no-such-session", h.node_id, {"id": 2, "ping": {}}) == 204
        # data that is not a JSON string -> 204, dropped
        body = {"session": res["session"], "node": h.node_id, "data": {"id": 2}}
        async with h.http.post(url, data=json.dumps(body)) as resp:
            assert resp.status == 204
        async with h.http.post(url, data=b"{broken") as resp:
            assert resp.status == 400
        async with h.http.post(
            url, data=b"\xff\xff\xff", headers={"Content-Type": "application/octet-stream"}
        ) as resp:
            assert resp.status == 400
        async with h.http.post(url, data=b"x" * 301) as resp:
            assert resp.status == 413
        async with h.http.options(url) as resp:
            assert resp.status == 200 and await resp.read() == b""
        # protobuf body naming an unknown node -> 404 as well
        emu = client_pb2.EmulationRequest(node="nope", session="s", data=b"\x00")
        async with h.http.post(
            url, data=emu.SerializeToString(), headers={"Content-Type": "application/octet-stream"}
        ) as resp:
            assert resp.status == 404
        # the stream is still alive after all that: a real command gets its reply
        assert await emulate(h, res["session"], h.node_id, {"id": 9, "ping": {}}) == 204
        assert (await r.json_line())["id"] == 9
        r.close()


async def test_cors_headers_and_preflight(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        good = {
            "Origin": "https://app.example.com",
            "Access-Control-Request-Headers": "content-type",
        }
        for path in ("/connection/http_stream", "/emulation", "/connection/uni_http_stream"):
            async with h.http.options(h.base + path, headers=good) as resp:
                assert resp.status == 200
                assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
                assert resp.headers["Access-Control-Allow-Credentials"] == "true"
                assert resp.headers["Access-Control-Allow-Headers"] == "content-type"
            async with h.http.options(h.base + path, headers={"Origin": "https://evil.org"}) as r:
                assert r.status == 200
                assert "Access-Control-Allow-Origin" not in r.headers
            nul = {"Origin": "https://x.example.com", "Access-Control-Request-Headers": "null"}
            async with h.http.options(h.base + path, headers=nul) as resp:
                assert "Access-Control-Allow-Headers" not in resp.headers
                assert resp.headers["Access-Control-Allow-Origin"] == "https://x.example.com"
        # error answers carry CORS headers too
        async with h.http.get(h.base + "/connection/sse", headers=good) as resp:
            assert resp.status == 400
            assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        # streams: CORS on the streaming response; a disallowed origin is served without
        r = await raw_request(
            h.port,
            "POST",
            "/connection/uni_http_stream",
            body=b"{}",
            headers={"Origin": "https://app.example.com"},
        )
        assert r.status == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        r.close()
        r = await raw_request(
            h.port,
            "POST",
            "/connection/http_stream",
            body=connect_cmd("o"),
            headers={"Origin": "https://evil.org"},
        )
        assert r.status == 200 and "access-control-allow-origin" not in r.headers
        assert "connect" in await r.json_line()
        r.close()
        # uni_websocket: a bad origin rejects the upgrade
        async with h.http.get(
            h.base + "/connection/uni_websocket", headers={"Origin": "https://evil.org"}
        ) as resp:
            assert resp.status == 403


async def test_connection_limit_503(tmp_path: Path) -> None:
    async with running(tmp_path, client_connection_limit=1) as h:
        r, _ = await open_json_stream(h, "one")
        for path, method in (
            ("/connection/http_stream", "POST"),
            ("/connection/sse?cf_connect=%7B%7D", "GET"),
            ("/connection/uni_sse", "GET"),
            ("/connection/uni_http_stream", "POST"),
            ("/connection/uni_websocket", "GET"),
        ):
            async with h.http.request(method, h.base + path, data=b"{}") as resp:
                assert resp.status == 503, path
        r.close()
        await wait_for(lambda: not h.server.node.hub.conns)
        r, _ = await open_json_stream(h, "two")  # room again
        r.close()


async def test_connection_rate_limit_503(tmp_path: Path) -> None:
    async with running(tmp_path, client_connection_rate_limit=2) as h:
        statuses = []
        for _ in range(4):
            async with h.http.post(h.base + "/connection/uni_http_stream", data=b"{bad") as resp:
                statuses.append(resp.status)
        assert statuses[:2] == [200, 200] and 503 in statuses[2:]


async def test_uni_websocket_limit(tmp_path: Path) -> None:
    async with running(tmp_path, client_connection_limit=1) as h:
        r, _ = await open_json_stream(h, "one")
        try:
            async with h.http.ws_connect(h.base + "/connection/uni_websocket"):
                raise AssertionError("upgrade should fail")
        except aiohttp.WSServerHandshakeError as e:
            assert e.status == 503
        r.close()
