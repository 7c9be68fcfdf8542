"""Proxies behind the HTTP-based client transports, in-process (the real composition root).

The connect proxy authenticates unidirectional clients (uni_websocket, uni_sse,
uni_http_stream) and bidirectional emulation clients (SSE through /emulation); headers named
in ``proxy_http_headers`` reach the backend from each transport's connecting request (for
emulation: the streaming request, not the /emulation POSTs).  The refresh proxy keeps a
unidirectional connection alive past its expiry, and ends it with 3005 when it says expired.
SockJS sessions take the headers of the request that opened them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.transports.harness import TIMEOUT, raw_request, running
from tests.integration.transports.test_sockjs import XhrSession, frame_messages
from tests.integration.transports.test_webtransport import WT, wt_config
from tests.integration.transports.wt_client import wt_connect
from tests.proxy_backends import HttpBackend

HEADERS = {"Cookie": "session=abc", "Authorization": "Bearer xyz", "X-Other": "not-forwarded"}


@pytest.fixture
async def backend() -> AsyncIterator[HttpBackend]:
    b = await HttpBackend().start()
    b.answer(
        "connect",
        lambda call: {
            "result": {
                "user": "u-" + call.body["transport"],
                "info": {"from": "proxy"},
                "data": {"welcome": True},
                "channels": ["news:proxied"],
            }
        },
    )
    yield b
    await b.stop()


def proxy_config(b: HttpBackend, **extra: Any) -> dict[str, Any]:
    return {
        "proxy_connect_endpoint": b.url("connect"),
        "proxy_http_headers": ["Cookie", "authorization"],
        **extra,
    }


def assert_forwarded(call: Any) -> None:
    assert call.headers["cookie"] == "session=abc"
    assert call.headers["authorization"] == "Bearer xyz"
    assert "x-other" not in call.headers


async def test_unidirectional_transports_connect_through_the_proxy(
    tmp_path: Path, backend: HttpBackend
) -> None:
    async with running(tmp_path, **proxy_config(backend)) as h:
        # uni_websocket: the connect request is the first message
        async with h.http.ws_connect(h.base + "/connection/uni_websocket", headers=HEADERS) as ws:
            await ws.send_str(json.dumps({"name": "w", "data": {"hello": 1}}))
            push = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
            connect = push["connect"]
            assert connect["data"] == {"welcome": True}
            assert "news:proxied" in connect["subs"]
            await h.publish("news:proxied", {"n": 1})
            push = {}
            while push == {}:  # app-level pings may come first
                push = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
            assert push == {"channel": "news:proxied", "pub": {"data": {"n": 1}, "offset": 1}}
            # the proxy's user and info are the connection's (presence shows them)
            body = await h.api("presence", channel="news:proxied")
            [info] = body["result"]["presence"].values()
            assert info["user"] == "u-uni_websocket" and info["conn_info"] == {"from": "proxy"}
        [call] = backend.of("connect")
        assert call.body == {
            "client": connect["client"],
            "transport": "uni_websocket",
            "protocol": "json",
            "encoding": "json",
            "data": {"hello": 1},
            "name": "w",
        }
        assert_forwarded(call)

        # uni_sse (GET, cf_connect in the query) and uni_http_stream (POST body)
        q = quote(json.dumps({"name": "s"}))
        r = await raw_request(h.port, "GET", "/connection/uni_sse?cf_connect=" + q, headers=HEADERS)
        assert (await r.sse_json())["connect"]["data"] == {"welcome": True}
        r.close()
        r2 = await raw_request(
            h.port, "POST", "/connection/uni_http_stream", body=b"{}", headers=HEADERS
        )
        assert (await r2.json_line())["connect"]["data"] == {"welcome": True}
        r2.close()
        calls = await backend.wait("connect", 3)
        assert [c.body["transport"] for c in calls] == [
            "uni_websocket",
            "uni_sse",
            "uni_http_stream",
        ]
        for call in calls:
            assert_forwarded(call)


async def test_emulation_forwards_the_streaming_requests_headers(
    tmp_path: Path, backend: HttpBackend
) -> None:
    """SSE: connect goes with the EventSource GET; later commands come through POST
    /emulation, but the proxies see the headers of the streaming request."""
    backend.answer("rpc", lambda call: {"result": {"data": {"cookie": call.headers.get("cookie")}}})
    async with running(
        tmp_path, **proxy_config(backend, proxy_rpc_endpoint=backend.url("rpc"))
    ) as h:
        connect = quote(json.dumps({"id": 1, "connect": {"name": "sse"}}))
        r = await raw_request(
            h.port, "GET", "/connection/sse?cf_connect=" + connect, headers=HEADERS
        )
        reply = await r.sse_json()
        assert reply["id"] == 1 and reply["connect"]["data"] == {"welcome": True}
        session, node = reply["connect"]["session"], reply["connect"]["node"]
        body = json.dumps(
            {
                "session": session,
                "node": node,
                "data": json.dumps({"id": 2, "rpc": {"method": "m"}}),
            }
        )
        async with h.http.post(
            h.base + "/emulation", data=body, headers={"Cookie": "other=1"}
        ) as resp:
            assert resp.status == 204
        reply = await r.sse_json()
        assert reply == {"id": 2, "rpc": {"data": {"cookie": "session=abc"}}}
        r.close()
        [conn] = backend.of("connect")
        assert conn.body["transport"] == "sse"
        assert_forwarded(conn)


async def test_refresh_proxy_keeps_a_unidirectional_connection(
    tmp_path: Path, backend: HttpBackend
) -> None:
    refreshes = 0

    def refresh(call: Any) -> dict[str, Any]:
        nonlocal refreshes
        refreshes += 1
        if refreshes >= 2:
            return {"result": {"expired": True}}
        return {"result": {"expire_at": int(time.time()) + 1, "info": {"r": refreshes}}}

    backend.answer("connect", {"result": {"user": "42", "expire_at": int(time.time()) + 1}})
    backend.answer("refresh", refresh)
    cfg = proxy_config(backend, proxy_refresh_endpoint=backend.url("refresh"))
    async with running(tmp_path, **cfg) as h:
        async with h.http.ws_connect(h.base + "/connection/uni_websocket") as ws:
            await ws.send_str("{}")
            connect = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)["connect"]
            assert "expires" not in connect and "ttl" not in connect  # the server refreshes
            calls = await backend.wait("refresh", 1, timeout=3)
            assert calls[0].body == {
                "client": connect["client"],
                "transport": "uni_websocket",
                "protocol": "json",
                "encoding": "json",
                "user": "42",
            }
            assert not ws.closed
            push: dict[str, Any] = {}
            while push == {}:  # pings until the disconnect push
                push = json.loads((await asyncio.wait_for(ws.receive(), 4)).data)
            assert push == {"disconnect": {"code": 3005, "reason": "connection expired"}}
        assert refreshes == 2


async def test_sockjs_session_forwards_the_opening_requests_headers(
    tmp_path: Path, backend: HttpBackend
) -> None:
    """SockJS (xhr_streaming + xhr_send): the connect proxy sees the headers of the request
    that opened the session, and the session's transport name ``sockjs``."""
    async with running(tmp_path, sockjs=True, **proxy_config(backend)) as h:
        x = XhrSession(h, "proxy1")
        x.headers.update(HEADERS)
        await x.open()
        await x.send(json.dumps({"id": 1, "connect": {}}))
        [reply] = frame_messages(await x.frame())
        assert reply["id"] == 1 and reply["connect"]["data"] == {"welcome": True}
        [call] = backend.of("connect")
        assert call.body["transport"] == "sockjs"
        assert_forwarded(call)
        assert x.resp is not None
        x.resp.close()


async def test_repeated_header_lines_reach_the_backend_whole(
    tmp_path: Path, backend: HttpBackend
) -> None:
    """A header sent on several lines (two ``Cookie`` lines, an ``X-Forwarded-For`` line per
    proxy hop) reaches the backend with every value, as Centrifugo v4 copies them all: cookies
    joined with ``; ``, other fields with ``, `` (one field line each in the proxy request)."""
    sent = [
        ("Cookie", "session=abc"),
        ("Cookie", "theme=dark"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Forwarded-For", "10.0.0.2"),
    ]
    cfg = proxy_config(backend, proxy_http_headers=["Cookie", "X-Forwarded-For"])
    async with running(tmp_path, **cfg) as h:
        async with h.http.ws_connect(h.base + "/connection/websocket", headers=sent) as ws:
            await ws.send_str(json.dumps({"id": 1, "connect": {}}))
            assert json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)["id"] == 1
        async with h.http.ws_connect(h.base + "/connection/uni_websocket", headers=sent) as ws:
            await ws.send_str("{}")
            assert "connect" in json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
        async with h.http.post(
            h.base + "/connection/uni_http_stream", data=b"{}", headers=sent
        ) as resp:
            assert "connect" in json.loads(await resp.content.readline())
        calls = await backend.wait("connect", 3)
        assert [c.body["transport"] for c in calls] == [
            "websocket",
            "uni_websocket",
            "uni_http_stream",
        ]
        for call in calls:
            assert call.headers["cookie"] == "session=abc; theme=dark"
            assert call.headers["x-forwarded-for"] == "10.0.0.1, 10.0.0.2"


async def test_webtransport_forwards_every_cookie_field(
    tmp_path: Path, backend: HttpBackend
) -> None:
    """HTTP/3 clients may send the cookie as one field per cookie (QPACK "crumbs"); the proxy
    request, an HTTP/1.1 context, gets them joined with ``; `` (RFC 9114 section 4.2.1), and
    the session's transport name ``webtransport``."""
    crumbs = ((b"cookie", b"session=abc"), (b"cookie", b"theme=dark"), (b"x-other", b"1"))
    cfg = proxy_config(backend, proxy_http_headers=["Cookie"])
    async with running(tmp_path, **wt_config(tmp_path), **cfg) as h:
        async with wt_connect(h.port, WT, headers=crumbs) as s:
            s.open_stream()
            s.send(b'{"id":1,"connect":{}}\n')
            reply = json.loads(await s.read_line())
            assert reply["connect"]["data"] == {"welcome": True}
        [call] = backend.of("connect")
        assert call.body["transport"] == "webtransport"
        assert call.headers["cookie"] == "session=abc; theme=dark"
        assert "x-other" not in call.headers
