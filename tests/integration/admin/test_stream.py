"""``POST /admin/stream``: the admin live view of a channel, on an in-process server.

The real composition root (``start_server``) serves the admin endpoints on 127.0.0.1:0; a raw
JSON WebSocket client makes joins and leaves; publications come through ``/api``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from service.api import admin_stream
from service.app import Server
from service.auth import generate_token
from service.core.engine import Publication

from .conftest import API_KEY, PASSWORD, SECRET, Start

TIMEOUT = 5.0
NAMESPACES = [
    {
        "name": "chat",
        "allow_subscribe_for_client": True,
        "join_leave": True,
        "presence": True,
        "history_size": 10,
        "history_ttl": "60s",
    },
    # clients may not subscribe here: the live view must not need client permissions
    {"name": "locked"},
]


@pytest.fixture
async def server(start: Start) -> Server:
    return await start(namespaces=NAMESPACES)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.ports['external']}"


async def admin_token(http: aiohttp.ClientSession, server: Server) -> str:
    async with http.post(f"{base(server)}/admin/auth", data={"password": PASSWORD}) as r:
        assert r.status == 200
        token: str = (await r.json())["token"]
        return token


class Live:
    """An open ``/admin/stream`` response read line by line."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, skip_pings: bool = True) -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), TIMEOUT)
            assert line, "the stream ended"
            event: dict[str, Any] = json.loads(line)
            if not (skip_pings and event["type"] == "ping"):
                return event


async def open_live(
    http: aiohttp.ClientSession, server: Server, channel: str, token: str
) -> aiohttp.ClientResponse:
    return await http.post(
        f"{base(server)}/admin/stream",
        data=json.dumps({"channel": channel}),
        headers={"Authorization": f"token {token}"},
    )


async def publish(http: aiohttp.ClientSession, server: Server, channel: str, **fields: Any) -> None:
    async with http.post(
        f"{base(server)}/api/publish",
        data=json.dumps({"channel": channel, **fields}),
        headers={"X-API-Key": API_KEY},
    ) as r:
        body = await r.json()
        assert r.status == 200 and "error" not in body, body


async def test_publications_joins_and_leaves_arrive_live(
    server: Server, http: aiohttp.ClientSession
) -> None:
    token = await admin_token(http, server)
    async with await open_live(http, server, "chat:live", token) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/x-ndjson")
        assert r.headers["Cache-Control"] == "no-store"
        live = Live(r)
        assert await live.next() == {"type": "subscribed", "channel": "chat:live"}

        await publish(http, server, "chat:live", data={"n": 1}, tags={"k": "v"})
        pub = await live.next()
        assert pub["type"] == "publication" and pub["channel"] == "chat:live"
        assert pub["data"] == {"n": 1} and pub["offset"] == 1 and pub["tags"] == {"k": "v"}
        assert abs(pub["time"] / 1000 - time.time()) < 5

        await publish(http, server, "chat:live", b64data=base64.b64encode(b"\x00\xff").decode())
        binary = await live.next()
        assert "data" not in binary and base64.b64decode(binary["b64data"]) == b"\x00\xff"

        tok = generate_token(secret=SECRET, user="alice", ttl=3600, extra={"info": {"n": "A"}})
        async with http.ws_connect(f"{base(server)}/connection/websocket") as ws:
            await ws.send_str(json.dumps({"id": 1, "connect": {"token": tok}}))
            await ws.receive(timeout=TIMEOUT)
            await ws.send_str(json.dumps({"id": 2, "subscribe": {"channel": "chat:live"}}))
            join = await live.next()
            assert join["type"] == "join" and join["info"]["user"] == "alice"
            assert join["info"]["conn_info"] == {"n": "A"} and join["info"]["client"]
        leave = await live.next()
        assert leave["type"] == "leave" and leave["info"] == join["info"]


async def test_channel_without_client_permissions_can_be_watched(
    server: Server, http: aiohttp.ClientSession
) -> None:
    token = await admin_token(http, server)
    async with await open_live(http, server, "locked:x", token) as r:
        live = Live(r)
        assert (await live.next())["type"] == "subscribed"
        await publish(http, server, "locked:x", data="hello")
        assert (await live.next())["data"] == "hello"
    # and clients still may not subscribe there
    tok = generate_token(secret=SECRET, user="bob", ttl=3600)
    async with http.ws_connect(f"{base(server)}/connection/websocket") as ws:
        await ws.send_str(json.dumps({"id": 1, "connect": {"token": tok}}))
        await ws.receive(timeout=TIMEOUT)
        await ws.send_str(json.dumps({"id": 2, "subscribe": {"channel": "locked:x"}}))
        reply = json.loads((await ws.receive(timeout=TIMEOUT)).data)
        assert reply["error"]["code"] == 103


async def test_auth_method_and_body_are_checked(
    server: Server, http: aiohttp.ClientSession
) -> None:
    url = f"{base(server)}/admin/stream"
    body = json.dumps({"channel": "chat:a"})
    for headers in ({}, {"Authorization": "token 1.abc"}, {"Authorization": "apikey " + API_KEY}):
        async with http.post(url, data=body, headers=headers) as r:
            assert r.status == 401
    token = await admin_token(http, server)
    auth = {"Authorization": f"token {token}"}
    async with http.post(f"{url}?token={token}", data=body) as r:
        assert r.status == 401  # the token is accepted in the header only
    async with http.get(url, headers=auth) as r:
        assert r.status == 405
    for bad in (b"not json", b'{"channel": 5}', b"[]"):
        async with http.post(url, data=bad, headers=auth) as r:
            assert r.status == 400


@pytest.mark.parametrize(
    ("channel", "code", "message"),
    [("", 107, "bad request"), ("nope:x", 102, "unknown channel")],
)
async def test_bad_channel_is_an_error_line(
    server: Server, http: aiohttp.ClientSession, channel: str, code: int, message: str
) -> None:
    token = await admin_token(http, server)
    async with await open_live(http, server, channel, token) as r:
        assert r.status == 200
        lines = (await r.read()).splitlines()
    assert [json.loads(x) for x in lines] == [
        {"type": "error", "error": {"code": code, "message": message}}
    ]


async def test_closing_the_view_removes_the_observer(
    server: Server, http: aiohttp.ClientSession
) -> None:
    token = await admin_token(http, server)
    node = server.node
    async with await open_live(http, server, "chat:gone", token) as r:
        assert (await Live(r).next())["type"] == "subscribed"
        assert node.observers.watched("chat:gone")
    async with asyncio.timeout(TIMEOUT):
        while node.observers.watched("chat:gone") or node.registry_sizes()["broker_subscribed"]:
            await asyncio.sleep(0.05)


async def test_too_many_views(
    server: Server, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_stream, "MAX_STREAMS", 1)
    token = await admin_token(http, server)
    async with await open_live(http, server, "chat:one", token) as first:
        assert (await Live(first).next())["type"] == "subscribed"
        async with await open_live(http, server, "chat:two", token) as second:
            event = await Live(second).next()
    assert event == {"type": "error", "error": {"code": 111, "message": "too many requests"}}


async def test_slow_reader_gets_a_dropped_count() -> None:
    stream = admin_stream.ChannelStream(limit=2)
    for i in range(5):
        stream.on_publication("c", Publication(data=b"%d" % i), None)
    lines = [json.loads(x) for x in stream.take().splitlines()]
    assert [x.get("data") for x in lines[:2]] == [0, 1]
    assert lines[2] == {"type": "dropped", "count": 3}
    assert stream.take() == b""


async def test_view_ends_at_shutdown(start: Start) -> None:
    srv = await start(namespaces=NAMESPACES)
    async with aiohttp.ClientSession() as http:
        token = await admin_token(http, srv)
        async with await open_live(http, srv, "chat:end", token) as r:
            assert (await Live(r).next())["type"] == "subscribed"
            stop = asyncio.create_task(srv.stop())
            rest = await asyncio.wait_for(r.content.read(), TIMEOUT)
            assert all(json.loads(x)["type"] == "ping" for x in rest.splitlines())
            await asyncio.wait_for(stop, TIMEOUT)
