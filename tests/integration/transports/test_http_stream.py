"""HTTP-streaming (docs/transports.md#http-streaming) and SSE (docs/transports.md#sse) emulation
transports, byte for byte, with /emulation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from centrifugal.centrifuge.protocol import client_pb2

from service.protocol.varint import decode_varint, encode_varint

from .harness import QUIET, Harness, RawResponse, raw_request, running, token

STREAM_HEADERS = {
    "cache-control": "private, no-cache, no-store, must-revalidate, max-age=0",
    "pragma": "no-cache",
    "expire": "0",
    "x-accel-buffering": "no",
    "connection": "keep-alive",
}


def connect_cmd(user: str, cid: int = 1, **kw: Any) -> bytes:
    return json.dumps({"id": cid, "connect": {"token": token(user), **kw}}).encode()


async def emulate(h: Harness, session: str, node: str, *cmds: dict[str, Any]) -> int:
    body = {"session": session, "node": node, "data": "\n".join(json.dumps(c) for c in cmds)}
    async with h.http.post(f"{h.base}/emulation", data=json.dumps(body)) as r:
        return r.status


async def open_json_stream(h: Harness, user: str) -> tuple[RawResponse, dict[str, Any]]:
    r = await raw_request(
        h.port,
        "POST",
        "/connection/http_stream",
        body=connect_cmd(user),
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 200
    reply = await r.json_line()
    return r, reply["connect"]


async def test_http_stream_json_framing(tmp_path: Path) -> None:
    async with running(tmp_path, **QUIET) as h:
        r = await raw_request(
            h.port,
            "POST",
            "/connection/http_stream",
            body=connect_cmd("alice"),
            headers={"Content-Type": "application/json"},
        )
        assert r.status == 200
        for k, v in STREAM_HEADERS.items():
            assert r.headers[k] == v
        assert r.headers["transfer-encoding"] == "chunked"
        chunk = await r.chunk()  # one Reply + "\n" per chunk, no other bytes
        assert chunk.endswith(b"}\n") and chunk.count(b"\n") == 1
        res = json.loads(chunk)["connect"]
        assert res["session"] and res["node"] == h.node_id and res["pong"] is True
        assert res["client"] != res["session"]

        assert (
            await emulate(
                h, res["session"], res["node"], {"id": 2, "subscribe": {"channel": "plain:a"}}
            )
            == 204
        )
        assert await r.chunk() == b'{"id":2,"subscribe":{}}\n'
        await h.publish("plain:a", {"x": 1})
        assert await r.chunk() == b'{"push":{"channel":"plain:a","pub":{"data":{"x":1}}}}\n'

        # two commands in one emulation request: replies in order, each line-terminated
        status = await emulate(
            h,
            res["session"],
            res["node"],
            {"id": 3, "presence_stats": {"channel": "news:p"}},
            {"id": 4, "history": {"channel": "plain:a"}},
        )
        assert status == 204
        got = await r.until(b"\n") + await r.until(b"\n")
        lines = got.split(b"\n")
        assert json.loads(lines[0])["id"] == 3 and json.loads(lines[1])["id"] == 4

        await h.api("disconnect", user="alice")
        assert (
            await r.rest() == b'{"push":{"disconnect":{"code":3503,"reason":"force disconnect"}}}\n'
        )
        assert r.ended  # terminating chunk written
        r.close()


async def test_http_stream_protobuf_framing(tmp_path: Path) -> None:
    async with running(tmp_path, **QUIET) as h:
        cmd = client_pb2.Command(id=1)
        cmd.connect.token = token("bob")
        data = cmd.SerializeToString()
        r = await raw_request(
            h.port,
            "POST",
            "/connection/http_stream",
            body=encode_varint(len(data)) + data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status == 200
        assert r.headers["content-type"] == "application/octet-stream"

        async def reply() -> Any:
            while True:
                try:
                    n, pos = decode_varint(r.buf, 0)
                    if len(r.buf) >= pos + n:
                        break
                except Exception:
                    pass
                assert await r.more()
            body = r.buf[pos : pos + n]
            r.buf = r.buf[pos + n :]
            return client_pb2.Reply.FromString(body)

        rep = await reply()
        assert rep.id == 1 and rep.connect.session and rep.connect.node == h.node_id
        sub = client_pb2.Command(id=2)
        sub.subscribe.channel = "plain:b"
        sb = sub.SerializeToString()
        emu = client_pb2.EmulationRequest(
            node=rep.connect.node, session=rep.connect.session, data=encode_varint(len(sb)) + sb
        )
        async with h.http.post(
            f"{h.base}/emulation",
            data=emu.SerializeToString(),
            headers={"Content-Type": "application/octet-stream"},
        ) as er:
            assert er.status == 204
        rep = await reply()
        assert rep.id == 2 and rep.HasField("subscribe")
        await h.publish("plain:b", {"y": 2})
        rep = await reply()
        assert rep.push.channel == "plain:b" and json.loads(rep.push.pub.data) == {"y": 2}
        await h.api("disconnect", user="bob")
        rep = await reply()
        assert rep.push.disconnect.code == 3503
        assert await r.rest() == b""
        r.close()


async def test_http_stream_ping_and_pong(tmp_path: Path) -> None:
    async with running(tmp_path, ping_interval="2s", pong_timeout="1500ms") as h:
        r, res = await open_json_stream(h, "pinger")
        assert res["ping"] == 2
        assert await r.chunk() == b"{}\n"  # ping = empty Reply
        assert await emulate(h, res["session"], res["node"], {}) == 204  # pong
        assert await r.chunk() == b"{}\n"  # still connected: the next ping
        r.close()


async def test_http_stream_errors(tmp_path: Path) -> None:
    async with running(tmp_path, http_stream_max_request_body_size=100) as h:
        url = f"{h.base}/connection/http_stream"
        async with h.http.get(url) as r:
            assert r.status == 405
        async with h.http.post(url, data=b"x" * 101) as r:
            assert r.status == 413
        async with h.http.post(url, data=b"{not json") as r:
            assert r.status == 400
        async with h.http.options(url) as r:
            assert r.status == 200 and await r.read() == b""
        # a failed connect ends the stream with a disconnect push
        r2 = await raw_request(
            h.port, "POST", "/connection/http_stream", body=b'{"id":1,"connect":{"token":"bad"}}'
        )
        assert r2.status == 200
        assert (
            await r2.rest() == b'{"push":{"disconnect":{"code":3500,"reason":"invalid token"}}}\n'
        )
        r2.close()


async def test_sse_get_framing(tmp_path: Path) -> None:
    async with running(tmp_path, **QUIET) as h:
        q = urlencode({"cf_connect": connect_cmd("carol").decode()})
        r = await raw_request(h.port, "GET", f"/connection/sse?{q}")
        assert r.status == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        for k, v in STREAM_HEADERS.items():
            assert r.headers[k] == v
        assert await r.chunk() == b"\r\n"
        chunk = await r.chunk()
        assert chunk.startswith(b"data: {") and chunk.endswith(b"}\n\n") and chunk.count(b"\n") == 2
        res = json.loads(chunk[6:])["connect"]
        st = await emulate(
            h,
            res["session"],
            res["node"],
            {"id": 2, "subscribe": {"channel": "plain:s"}},
            {"id": 3, "presence_stats": {"channel": "news:p"}},
        )
        assert st == 204
        # two replies in one flush: still one event each
        got = await r.until(b"\n\n") + await r.until(b"\n\n")
        assert got.startswith(b'data: {"id":2,"subscribe":{}}\n\ndata: {"id":3,')
        await h.publish("plain:s", {"z": 3})
        assert (
            await r.until(b"\n\n")
            == b'data: {"push":{"channel":"plain:s","pub":{"data":{"z":3}}}}\n\n'
        )
        await h.api("disconnect", user="carol")
        assert (
            await r.rest()
            == b'data: {"push":{"disconnect":{"code":3503,"reason":"force disconnect"}}}\n\n'
        )
        r.close()


async def test_sse_form_encoding_post_and_errors(tmp_path: Path) -> None:
    async with running(tmp_path, sse_max_request_body_size=400) as h:
        # centrifuge-js uses URLSearchParams: spaces become "+"
        text = json.dumps({"id": 7, "connect": {"token": token("dave"), "name": "a b"}})
        r = await raw_request(h.port, "GET", "/connection/sse?" + urlencode({"cf_connect": text}))
        assert r.status == 200
        await r.chunk()
        ev = await r.sse_json()
        assert ev["id"] == 7 and "connect" in ev
        r.close()
        # POST body
        r = await raw_request(h.port, "POST", "/connection/sse", body=connect_cmd("erin", 3))
        assert r.status == 200
        await r.chunk()
        assert (await r.sse_json())["id"] == 3
        r.close()
        url = f"{h.base}/connection/sse"
        async with h.http.get(url) as resp:
            assert resp.status == 400  # no cf_connect
        async with h.http.post(url, data=b"{" * 401) as resp:
            assert resp.status == 413
        async with h.http.put(url, data=b"{}") as resp:
            assert resp.status == 405
        async with h.http.options(url) as resp:
            assert resp.status == 405
