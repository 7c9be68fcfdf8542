"""SockJS endpoint on the wire: every receiving transport, xhr_send, bad input, limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from .harness import Harness, running, token
from .rawws import RawWebSocket

P = "/connection/sockjs"


def connect_cmd(user: str = "u1") -> str:
    return json.dumps({"id": 1, "connect": {"token": token(user)}})


def frame_messages(frame: str) -> list[Any]:
    """Replies inside one ``a[...]`` frame (each SockJS message is newline-joined JSON), without
    the server's pings (``{}``): the first ping comes at a random time within ``ping_interval``,
    so any poll may carry one next to what a test waits for."""
    assert frame.startswith("a"), frame
    out: list[Any] = []
    for message in json.loads(frame[1:]):
        out.extend(m for m in map(json.loads, message.split("\n")) if m != {})
    return out


class XhrSession:
    """A SockJS session driven over xhr_streaming + xhr_send."""

    def __init__(self, h: Harness, sid: str, origin: str = "") -> None:
        self.h = h
        self.url = f"{h.base}{P}/000/{sid}"
        self.headers = {"Origin": origin} if origin else {}
        self.resp: aiohttp.ClientResponse | None = None

    async def open(self) -> aiohttp.ClientResponse:
        self.resp = await self.h.http.post(self.url + "/xhr_streaming", headers=self.headers)
        assert self.resp.status == 200
        prelude = await self.resp.content.readline()
        assert prelude == b"h" * 2048 + b"\n"
        assert await self.frame() == "o"
        return self.resp

    async def frame(self) -> str:
        """The next frame that is not a server ping (``a["{}"]``)."""
        assert self.resp is not None
        while True:
            line = await asyncio.wait_for(self.resp.content.readline(), 5)
            frame = line.decode().rstrip("\n")
            if frame != 'a["{}"]':
                return frame

    async def send(self, *messages: str) -> aiohttp.ClientResponse:
        r = await self.h.http.post(self.url + "/xhr_send", data=json.dumps(list(messages)))
        await r.read()
        return r


async def test_info_greeting_iframe(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        async with h.http.get(h.base + P) as r:
            assert r.status == 200 and await r.text() == "Welcome to SockJS!\n"
        async with h.http.get(h.base + P + "/info") as r:
            info = await r.json()
            assert info["websocket"] is True and info["cookie_needed"] is False
            assert r.headers["Access-Control-Allow-Origin"] == "*"
        async with h.http.options(h.base + P + "/info") as r:
            assert r.status == 204 and "GET" in r.headers["Access-Control-Allow-Methods"]
        async with h.http.get(h.base + P + "/iframe.html") as r:
            page = await r.text()
            assert r.status == 200 and "sockjs-client@1" in page
            etag = r.headers["ETag"]
        async with h.http.get(h.base + P + "/iframe.html", headers={"If-None-Match": etag}) as r:
            assert r.status == 304


async def test_xhr_streaming_roundtrip_and_disconnect(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        s = XhrSession(h, "s1", origin="https://app.example.com")
        resp = await s.open()
        assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        sub = json.dumps({"id": 2, "subscribe": {"channel": "news:x"}})
        r = await s.send(connect_cmd() + "\n" + sub)
        assert r.status == 204
        replies = frame_messages(await s.frame())
        assert replies[0]["id"] == 1 and replies[0]["connect"]["client"]
        if len(replies) == 1:
            replies += frame_messages(await s.frame())
        assert replies[1]["id"] == 2
        await h.publish("news:x", {"n": 1})
        assert frame_messages(await s.frame())[0]["push"]["pub"]["data"] == {"n": 1}
        await h.api("disconnect", user="u1")
        assert await s.frame() == 'c[3503,"force disconnect"]'


async def test_polling_eventsource_htmlfile_jsonp(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        base = f"{h.base}{P}/000"
        async with h.http.post(base + "/p1/xhr") as r:
            assert await r.read() == b"o\n"
        await (await h.http.post(base + "/p1/xhr_send", data=json.dumps([connect_cmd()]))).read()
        async with h.http.post(base + "/p1/xhr") as r:
            body = (await r.read()).decode()
            assert frame_messages(body.rstrip("\n"))[0]["connect"]["client"]
        async with h.http.get(base + "/e1/eventsource") as r:
            assert r.headers["Content-Type"].startswith("text/event-stream")
            assert await r.content.readline() == b"\r\n"
            assert await r.content.readline() == b"data: o\r\n"
        async with h.http.get(base + "/h1/htmlfile?c=cb") as r:
            head = await r.content.read(1024)
            assert b"parent.cb" in head
        async with h.http.get(base + "/h2/htmlfile") as r:
            assert r.status == 500
        async with h.http.get(base + "/j1/jsonp?c=cb") as r:
            assert await r.read() == b'/**/cb("o");\r\n'
        async with h.http.post(
            base + "/j1/jsonp_send", data={"d": json.dumps([connect_cmd("u2")])}
        ) as r:
            assert r.status == 200 and await r.text() == "ok"
        async with h.http.get(base + "/j1/jsonp?c=cb") as r:
            body = (await r.read()).decode()
            assert body.startswith('/**/cb("a[') and "connect" in body


async def test_second_receiver_and_unknown_session(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        s = XhrSession(h, "s2")
        await s.open()
        async with h.http.post(s.url + "/xhr") as r:
            assert await r.read() == b'c[2010,"Another connection still open"]\n'
        async with h.http.post(f"{h.base}{P}/000/nobody/xhr_send", data='["x"]') as r:
            assert r.status == 404


async def test_broken_frames_disconnect_3501_others_unaffected(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        bad = XhrSession(h, "bad")
        good = XhrSession(h, "good")
        await bad.open()
        await good.open()
        await good.send(connect_cmd("u2"))
        assert frame_messages(await good.frame())[0]["id"] == 1
        r = await bad.send("{")  # a valid SockJS frame carrying a broken command
        assert r.status == 204
        assert await bad.frame() == 'c[3501,"bad request"]'
        bad2 = XhrSession(h, "bad2")
        await bad2.open()
        async with h.http.post(bad2.url + "/xhr_send", data="[1, 2") as r:  # broken SockJS
            assert r.status == 500 and await r.text() == "Broken JSON encoding."
        assert await bad2.frame() == 'c[3501,"bad request"]'
        async with h.http.post(bad2.url + "/xhr_send", data="") as r:
            assert r.status in (404, 500)
        # websocket: a frame that is not a JSON array of strings
        ws = await RawWebSocket.open(h.port, f"{P}/000/w1/websocket")
        assert ws.status == 101
        assert (await ws.data_frame()).text() == "o"
        ws.send_text('{"not": "sockjs"}')
        assert (await ws.data_frame()).text() == 'c[3501,"bad request"]'
        await ws.close()
        await h.publish("news:x", {"still": "fine"})
        ping = json.dumps({"id": 2, "presence_stats": {"channel": "news:x"}})
        await good.send(ping)
        assert frame_messages(await good.frame())[0]["id"] == 2


async def test_websocket_origin_and_v1(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True, sockjs_heartbeat_delay="300ms") as h:
        ws = await RawWebSocket.open(h.port, f"{P}/000/w2/websocket", origin="https://evil.org")
        assert ws.status == 403
        await ws.close()
        ws = await RawWebSocket.open(h.port, f"{P}/000/w3/websocket?cf_protocol_version=v9")
        assert ws.status == 400
        await ws.close()
        ws = await RawWebSocket.open(h.port, f"{P}/000/w4/websocket?cf_protocol_version=v1")
        assert (await ws.data_frame()).text() == "o"
        ws.send_text(json.dumps([json.dumps({"id": 1, "params": {"token": token("u1")}})]))
        reply = frame_messages((await ws.data_frame()).text())[0]
        assert reply["id"] == 1 and reply["result"]["client"]
        assert (await ws.data_frame()).text() == "h"  # v1 sessions get SockJS heartbeats
        await h.api("disconnect", user="u1")
        close = json.loads((await ws.data_frame()).text()[1:])
        assert close[0] == 3503
        assert json.loads(close[1]) == {"reason": "force disconnect", "reconnect": False}
        await ws.close()


async def test_session_without_receiver_expires(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True) as h:
        s = XhrSession(h, "gone")
        resp = await s.open()
        await s.send(connect_cmd())
        assert frame_messages(await s.frame())[0]["id"] == 1
        assert len(h.server.node.hub.conns) == 1
        resp.close()
        for _ in range(100):
            if not h.server.node.hub.conns:
                break
            await asyncio.sleep(0.1)
        assert not h.server.node.hub.conns


async def test_client_that_stops_polling_is_slow(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True, client_queue_max_size=2000) as h:
        base = f"{h.base}{P}/000/slow"
        async with h.http.post(base + "/xhr") as r:
            assert await r.read() == b"o\n"
        sub = json.dumps({"id": 2, "subscribe": {"channel": "news:y"}})
        await (await h.http.post(base + "/xhr_send", data=json.dumps([connect_cmd(), sub]))).read()
        for i in range(20):
            await h.publish("news:y", {"pad": "z" * 200, "i": i})
        async with h.http.post(base + "/xhr") as r:
            assert await r.read() == b'c[3008,"slow"]\n'


async def test_polling_client_on_a_slow_network_keeps_its_session(tmp_path: Path) -> None:
    """Between two polls a message waits in the session's backlog.  A client whose next poll
    comes 1.5 s later (a slow mobile network) still gets it: waiting for the next request is
    not a write timeout (3009), only a session without a request for 5 s is gone."""
    async with running(tmp_path, sockjs=True) as h:
        base = f"{h.base}{P}/000/lag"
        async with h.http.post(base + "/xhr") as r:
            assert await r.read() == b"o\n"
        sub = json.dumps({"id": 2, "subscribe": {"channel": "news:lag"}})
        await (await h.http.post(base + "/xhr_send", data=json.dumps([connect_cmd(), sub]))).read()
        ids: list[int] = []
        while 2 not in ids:  # the two replies may come in one poll or in two
            async with h.http.post(base + "/xhr") as r:
                ids += [m.get("id", 0) for m in frame_messages((await r.read()).decode())]
        await h.publish("news:lag", {"n": 1})
        await asyncio.sleep(1.5)  # websocket_write_timeout is 1 s
        async with h.http.post(base + "/xhr") as r:
            [push] = frame_messages((await r.read()).decode())
        assert push["push"]["pub"]["data"] == {"n": 1}
        assert len(h.server.node.hub.conns) == 1


async def test_metrics_and_connection_limit(tmp_path: Path) -> None:
    async with running(tmp_path, sockjs=True, prometheus=True, client_connection_limit=1) as h:
        s = XhrSession(h, "m1")
        await s.open()
        await s.send(connect_cmd())
        assert frame_messages(await s.frame())[0]["id"] == 1
        async with h.http.post(f"{h.base}{P}/000/m2/xhr_streaming") as r:
            assert r.status == 503  # the node-wide limit applies to new SockJS sessions
        ws = await RawWebSocket.open(h.port, f"{P}/000/m3/websocket")
        assert ws.status == 503
        await ws.close()
        await h.publish("news:x", {"n": 1})
        async with h.http.get(f"{h.base}/metrics") as r:
            text = await r.text()
        assert 'centrifugo_transport_connect_count{transport="sockjs"} 1.0' in text
        assert 'centrifugo_transport_messages_sent{transport="sockjs"}' in text
