"""Clients of every HTTP/WebSocket client transport for churn tests (connect, subscribe with
a day-long expiry, receive a publication, end by one of the transport's causes).

Bidirectional clients subscribe client-side with a subscription token expiring a day from
now; unidirectional ones are subscribed through the server API with ``expire_at`` a day
from now.  Causes: ``client`` (the client goes away), ``server`` (server API disconnect),
``error`` (a protocol error; bidirectional transports only).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt

from tests.leakcheck import Census, Sizes, settle

from .harness import SECRET, TIMEOUT, Harness, RawResponse, raw_request, wait_for

DAY = 86400
ROUNDS = 3
PER_ROUND = 12
_users = itertools.count()
_batches = itertools.count()


def far_token(user: str, **claims: Any) -> str:
    body: dict[str, Any] = {"sub": user, "exp": int(time.time()) + DAY, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


def sub_token(user: str, channel: str) -> str:
    return far_token(user, channel=channel)


class Client:
    """One connection over some transport; ``cause`` says how it is going to end."""

    bidirectional = True
    causes: tuple[str, ...] = ("client", "server", "error")
    linger = 0.0  # seconds the server may take to find out that the client went away

    def __init__(self, h: Harness, channel: str) -> None:
        self.h = h
        self.channel = channel
        self.user = f"leak-{next(_users)}"
        self.session = ""
        self.next_id = 2

    async def open(self) -> None:
        raise NotImplementedError

    async def recv(self) -> Any:
        """The next message (a Reply for bidirectional transports, else a Push)."""
        raise NotImplementedError

    async def send(self, cmd: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_garbage(self) -> None:
        await self.send_raw(b"{not json")

    async def send_raw(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def command(self, **fields: Any) -> Any:
        cid = self.next_id
        self.next_id += 1
        await self.send({"id": cid, **fields})
        while True:
            reply = await self.recv()
            if reply.get("id") == cid:
                assert "error" not in reply, reply
                return reply

    async def subscribe(self) -> None:
        if self.bidirectional:
            await self.command(
                subscribe={"channel": self.channel, "token": sub_token(self.user, self.channel)}
            )
            return
        await self.h.api(
            "subscribe",
            user=self.user,
            channel=self.channel,
            session=self.session,
            expire_at=int(time.time()) + DAY,
        )
        await self.wait(lambda p: p.get("channel") == self.channel and "subscribe" in p)

    async def wait(self, pred: Any) -> Any:
        while True:
            msg = await self.recv()
            push = msg.get("push", {}) if self.bidirectional else msg
            if push and pred(push):
                return push

    async def wait_pub(self) -> None:
        await self.wait(lambda p: p.get("channel") == self.channel and "pub" in p)

    async def end(self, cause: str) -> None:
        if cause == "server":
            await self.h.api("disconnect", user=self.user)
            await self.wait(lambda p: "disconnect" in p)
        elif cause == "error":
            await self.send_garbage()
        await self.close()


class WsClient(Client):
    path = "/connection/websocket"

    async def open(self) -> None:
        self.ws = await self.h.http.ws_connect(self.h.base + self.path)
        self.pending: list[Any] = []
        await self.connect()

    async def connect(self) -> None:
        await self.command(connect={"token": far_token(self.user)})

    async def recv(self) -> Any:
        while not self.pending:
            msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return {"push": {"disconnect": {"closed": msg.type.name}}}
            self.pending = [json.loads(line) for line in msg.data.split("\n")]
        return self.pending.pop(0)

    async def send(self, cmd: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(cmd))

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send_str(data.decode())

    async def close(self) -> None:
        await self.ws.close()


class UniWsClient(WsClient):
    path = "/connection/uni_websocket"
    bidirectional = False
    causes = ("client", "server")

    async def connect(self) -> None:
        await self.ws.send_str(json.dumps({"token": far_token(self.user)}))
        self.session = (await self.recv())["connect"]["session"]


class StreamClient(Client):
    """A raw HTTP/1.1 streaming response (http_stream, sse and their uni twins)."""

    sse = False
    resp: RawResponse

    async def recv(self) -> Any:
        if self.sse:
            return await self.resp.sse_json()
        return await self.resp.json_line()

    async def close(self) -> None:
        self.resp.close()


class HttpStreamClient(StreamClient):
    async def open(self) -> None:
        body = json.dumps({"id": 1, "connect": {"token": far_token(self.user)}}).encode()
        self.resp = await raw_request(
            self.h.port, "POST", "/connection/http_stream", body=body, headers={}
        )
        await self.connected()

    async def connected(self) -> None:
        reply = await self.recv()
        self.session, self.node = reply["connect"]["session"], reply["connect"]["node"]

    async def send_raw(self, data: bytes) -> None:
        body = {"node": self.node, "session": self.session, "data": data.decode()}
        async with self.h.http.post(f"{self.h.base}/emulation", data=json.dumps(body)) as r:
            assert r.status == 204, r.status

    async def send(self, cmd: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(cmd).encode())


class SseClient(HttpStreamClient):
    sse = True

    async def open(self) -> None:
        connect = json.dumps({"id": 1, "connect": {"token": far_token(self.user)}})
        query = urlencode({"cf_connect": connect})
        self.resp = await raw_request(self.h.port, "GET", f"/connection/sse?{query}")
        await self.resp.until(b"\r\n")
        await self.connected()


class UniHttpStreamClient(StreamClient):
    bidirectional = False
    causes = ("client", "server")

    async def open(self) -> None:
        body = json.dumps({"token": far_token(self.user)}).encode()
        self.resp = await raw_request(self.h.port, "POST", "/connection/uni_http_stream", body=body)
        self.session = (await self.recv())["connect"]["session"]


class UniSseClient(StreamClient):
    bidirectional = False
    causes = ("client", "server")
    sse = True

    async def open(self) -> None:
        query = urlencode({"cf_connect": json.dumps({"token": far_token(self.user)})})
        self.resp = await raw_request(self.h.port, "GET", f"/connection/uni_sse?{query}")
        await self.resp.until(b"\r\n")
        self.session = (await self.recv())["connect"]["session"]


class V1WsClient(WsClient):
    """Client protocol v1 over WebSocket: v2 commands and replies translated at the edge."""

    path = "/connection/websocket?cf_protocol_version=v1"

    async def recv(self) -> Any:
        return _from_v1(await super().recv())

    async def send(self, cmd: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(_to_v1(cmd)))


_V1_METHODS = {"connect": 0, "subscribe": 1}


def _to_v1(cmd: dict[str, Any]) -> dict[str, Any]:
    ((name, params),) = [(k, v) for k, v in cmd.items() if k != "id"]
    return {"id": cmd["id"], "method": _V1_METHODS[name], "params": params}


def _from_v1(reply: dict[str, Any]) -> dict[str, Any]:
    if reply.get("id") or "push" in reply:
        return reply
    result = reply.get("result", {})
    kind = {0: "pub", 7: "disconnect"}.get(result.get("type", 0), "other")
    return {"push": {"channel": result.get("channel"), kind: result.get("data")}}


class SockJsClient(Client):
    """SockJS over its websocket transport (``o``, ``a[...]`` and ``c[...]`` frames)."""

    query = ""

    async def open(self) -> None:
        path = f"/connection/sockjs/000/s{next(_users)}/websocket{self.query}"
        self.ws = await self.h.http.ws_connect(self.h.base + path)
        self.pending: list[Any] = []
        assert await self.frame() == "o"
        await self.command(connect={"token": far_token(self.user)})

    async def frame(self) -> str:
        msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        return str(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else ""

    def decode(self, reply: dict[str, Any]) -> dict[str, Any]:
        return reply

    async def recv(self) -> Any:
        while not self.pending:
            frame = await self.frame()
            if not frame or frame.startswith("c"):
                return {"push": {"disconnect": {"frame": frame}}}
            if frame.startswith("a"):
                for message in json.loads(frame[1:]):
                    self.pending += [self.decode(json.loads(r)) for r in message.split("\n")]
        return self.pending.pop(0)

    def encode(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return cmd

    async def send(self, cmd: dict[str, Any]) -> None:
        await self.send_raw(json.dumps([json.dumps(self.encode(cmd))]).encode())

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send_str(data.decode())

    async def close(self) -> None:
        await self.ws.close()


class SockJsV1Client(SockJsClient):
    """Protocol v1 over SockJS's websocket: SockJS heartbeats on the session's timers."""

    query = "?cf_protocol_version=v1"

    def decode(self, reply: dict[str, Any]) -> dict[str, Any]:
        return _from_v1(reply)

    def encode(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return _to_v1(cmd)


class SockJsXhrClient(SockJsClient):
    """SockJS over xhr_streaming + xhr_send: the session outlives its requests, so a client
    that went away is found gone ``DISCONNECT_DELAY`` (5 s) later."""

    linger = 5.0

    async def open(self) -> None:
        self.url = f"{self.h.base}/connection/sockjs/000/x{next(_users)}"
        self.resp = await self.h.http.post(self.url + "/xhr_streaming")
        await self.resp.content.readline()  # the prelude
        self.pending = []
        assert await self.frame() == "o"
        await self.command(connect={"token": far_token(self.user)})

    async def frame(self) -> str:
        line = await asyncio.wait_for(self.resp.content.readline(), TIMEOUT)
        return line.decode().rstrip("\n")

    async def send_raw(self, data: bytes) -> None:
        async with self.h.http.post(self.url + "/xhr_send", data=data) as r:
            await r.read()

    async def close(self) -> None:
        self.resp.close()


TRANSPORTS: dict[str, type[Client]] = {
    "websocket": WsClient,
    "http_stream": HttpStreamClient,
    "sse": SseClient,
    "uni_websocket": UniWsClient,
    "uni_http_stream": UniHttpStreamClient,
    "uni_sse": UniSseClient,
    "websocket_v1": V1WsClient,
    "sockjs": SockJsClient,
    "sockjs_v1": SockJsV1Client,
    "sockjs_xhr_streaming": SockJsXhrClient,
}


async def churn(h: Harness, kind: type[Client], rounds: int, per_round: int) -> None:
    """``rounds`` times: open ``per_round`` clients, subscribe each, publish to every channel
    and wait until each got it, then end them by each cause in turn."""
    causes = itertools.cycle(kind.causes)
    for r in range(rounds):
        batch = next(_batches)  # channels of their own: channel-level leftovers show
        clients = [kind(h, f"news:leak-{batch}-{i % 3}") for i in range(per_round)]
        await asyncio.gather(*(c.open() for c in clients))
        await asyncio.gather(*(c.subscribe() for c in clients))
        for ch in {c.channel for c in clients}:
            await h.publish(ch, {"round": r})
        await asyncio.gather(*(c.wait_pub() for c in clients))
        await asyncio.gather(*(c.end(next(causes)) for c in clients))


async def leftovers_after_churn(
    h: Harness, kind: type[Client], extra: Sizes | None = None
) -> dict[str, Any]:
    """Churn ``ROUNDS`` x ``PER_ROUND`` clients of ``kind`` after a warm-up (one client per
    cause: lazily built caches, codecs and metric series exist from then on); returns what
    they left behind (empty: nothing), ``extra()`` sizes included."""
    await churn(h, kind, 1, len(kind.causes))
    await wait_for(lambda: not h.server.node.hub.conns, TIMEOUT + kind.linger)
    await fresh_api_connections(h)
    before = Census.take(h.server, extra)
    await churn(h, kind, ROUNDS, PER_ROUND)
    await fresh_api_connections(h)
    return await settle(h.server, before, extra, timeout=8.0 + kind.linger)


async def fresh_api_connections(h: Harness) -> None:
    """Close the keep-alive connections of server API calls and /emulation posts: the
    server keeps a task (and the last request) per idle keep-alive connection, which is
    not what is measured here."""
    await h.http.close()
    h.http = aiohttp.ClientSession()
