"""WebSocket permessage-deflate and client protocol v1, checked on the wire bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .harness import QUIET, running, token
from .rawws import RawWebSocket

WS = "/connection/websocket"


async def connected(port: int, path: str = WS, *, extensions: str = "") -> RawWebSocket:
    ws = await RawWebSocket.open(port, path, extensions=extensions)
    assert ws.status == 101, ws.status
    ws.send_text(json.dumps({"id": 1, "connect": {"token": token("u1")}}))
    reply = await ws.message()
    assert reply["id"] == 1 and "connect" in reply, reply
    ws.send_text(json.dumps({"id": 2, "subscribe": {"channel": "news:a"}}))
    assert (await ws.message())["id"] == 2
    return ws


async def test_deflate_above_min_size_plain_below(tmp_path: Path) -> None:
    async with running(
        tmp_path, websocket_compression=True, websocket_compression_min_size=100, **QUIET
    ) as h:
        ws = await connected(h.port, extensions="permessage-deflate; client_max_window_bits")
        plain = await connected(h.port)  # offers nothing: unaffected
        assert "permessage-deflate" in ws.headers.get("sec-websocket-extensions", "")
        assert "sec-websocket-extensions" not in plain.headers
        big = {"text": "x" * 400}
        await h.publish("news:a", big)
        f = await ws.data_frame()
        assert f.rsv1 and len(f.payload) < 200
        assert json.loads(f.text())["push"]["pub"]["data"] == big
        p = await plain.data_frame()
        assert not p.rsv1 and json.loads(p.text())["push"]["pub"]["data"] == big
        await h.publish("news:a", {"t": 1})  # under 100 bytes: sent as is
        f = await ws.data_frame()
        assert not f.rsv1 and json.loads(f.text())["push"]["pub"]["data"] == {"t": 1}
        # the next compressed message decodes on its own (no shared window needed)
        await h.publish("news:a", big)
        f = await ws.data_frame()
        assert f.rsv1 and json.loads(f.text())["push"]["pub"]["data"] == big
        await ws.close()
        await plain.close()


async def test_compression_off_never_negotiates(tmp_path: Path) -> None:
    async with running(tmp_path, **QUIET) as h:
        ws = await connected(h.port, extensions="permessage-deflate")
        assert "sec-websocket-extensions" not in ws.headers
        await h.publish("news:a", {"text": "y" * 400})
        assert not (await ws.data_frame()).rsv1
        await ws.close()


async def v1_client(port: int, query: str) -> RawWebSocket:
    ws = await RawWebSocket.open(port, WS + query)
    assert ws.status == 101, ws.status
    ws.send_text(json.dumps({"id": 1, "params": {"token": token("u1")}}))
    reply = await ws.message()
    assert reply["id"] == 1 and reply["result"]["client"], reply
    assert "ping" not in reply["result"]
    return ws


@pytest.mark.parametrize(
    ("overrides", "query"),
    [({}, "?cf_protocol_version=v1"), ({"use_client_protocol_v1_by_default": True}, "")],
)
async def test_v1_shapes(tmp_path: Path, overrides: dict[str, bool], query: str) -> None:
    async with running(tmp_path, **overrides) as h:
        ws = await v1_client(h.port, query)
        ws.send_text(
            json.dumps({"id": 2, "method": 1, "params": {"channel": "news:a"}})
            + "\n"
            + json.dumps({"id": 3, "method": 7})
        )
        sub = await ws.message()
        assert sub["id"] == 2 and sub["result"]["recoverable"] is True
        assert await ws.message() == {"id": 3, "result": {}}
        await h.publish("news:a", {"v": 1})
        push = await ws.message()
        assert push == {"result": {"channel": "news:a", "data": {"data": {"v": 1}, "offset": 1}}}
        ws.send_text(
            json.dumps({"id": 4, "method": 6, "params": {"channel": "news:a", "limit": 5}})
        )
        hist = await ws.message()
        assert [p["data"] for p in hist["result"]["publications"]] == [{"v": 1}]
        ws.send_text(json.dumps({"id": 5, "method": 3, "params": {"channel": "zz:x", "data": {}}}))
        err = await ws.message()
        assert err == {"id": 5, "error": {"code": 102, "message": "unknown channel"}}
        await h.api("unsubscribe", channel="news:a", user="u1")
        unsub = await ws.message()
        assert unsub["result"]["type"] == 3 and unsub["result"]["channel"] == "news:a"
        await h.api("disconnect", user="u1")
        close = await ws.data_frame()
        assert close.opcode == 0x8 and close.close_code() == 3503
        assert json.loads(close.close_reason()) == {
            "reason": "force disconnect",
            "reconnect": False,
        }
        await ws.close()


async def test_v2_frame_on_v1_connection_is_bad_request(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        ws = await v1_client(h.port, "?cf_protocol_version=v1")
        other = await v1_client(h.port, "?cf_protocol_version=v1")
        ws.send_text(json.dumps({"id": 2, "method": 99}))
        close = await ws.data_frame()
        assert close.close_code() == 3501
        assert json.loads(close.close_reason())["reason"] == "bad request"
        other.send_text(json.dumps({"id": 2, "method": 7}))
        assert await other.message() == {"id": 2, "result": {}}
        await ws.close()
        await other.close()


async def test_v1_frame_on_v2_connection_is_bad_request(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        ws = await RawWebSocket.open(h.port, WS)
        ws.send_text(json.dumps({"id": 1, "method": 0, "params": {"token": token("u1")}}))
        close = await ws.data_frame()
        assert close.close_code() == 3501 and close.close_reason() == "bad request"
        await ws.close()


async def test_v1_disabled_and_unknown_version_refused(tmp_path: Path) -> None:
    async with running(tmp_path, disable_client_protocol_v1=True) as h:
        ws = await RawWebSocket.open(h.port, WS + "?cf_protocol_version=v1")
        assert ws.status == 400
        await ws.close()
        ws = await RawWebSocket.open(h.port, WS + "?cf_protocol_version=v3")
        assert ws.status == 400
        await ws.close()
        ws = await RawWebSocket.open(h.port, WS + "?cf_protocol_version=v2")
        assert ws.status == 101
        await ws.close()


async def test_uni_websocket_compression(tmp_path: Path) -> None:
    async with running(tmp_path, uni_websocket_compression=True, **QUIET) as h:
        ws = await RawWebSocket.open(
            h.port, "/connection/uni_websocket", extensions="permessage-deflate"
        )
        assert "permessage-deflate" in ws.headers.get("sec-websocket-extensions", "")
        ws.send_text(json.dumps({"token": token("u1")}))
        f = await ws.data_frame()
        assert f.rsv1 and json.loads(f.text())["connect"]["client"]
        await ws.close()
        plain = await RawWebSocket.open(h.port, "/connection/uni_websocket")
        plain.send_text(json.dumps({"token": token("u2")}))
        f = await plain.data_frame()
        assert not f.rsv1 and json.loads(f.text())["connect"]["client"]
        await plain.close()
