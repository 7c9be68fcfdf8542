"""Clients of ``bench/soak.py``: steady WebSocket subscribers that account for every
publication, and short-lived clients over every client transport.

Every client speaks the Centrifugo v4 client protocol as an SDK would (JSON over the HTTP
transports, protobuf over gRPC), through aiohttp and the grpcio stubs in ``generated/``.

* ``Steady``: a WebSocket client subscribed to one channel with recovery.  It checks each
  publication's offset against the last one it got (a repeat is a duplicate), answers
  pings, resubscribes with ``recover`` after an unsubscribe push (2500: the server saw a
  gap, e.g. while Redis restarted) and reconnects with ``recover`` if the connection
  ends.  ``missing(top)`` is what it lacks of the channel's stream top.
* ``Churner``: one short-lived client per call of ``run``: connect with a day-long token,
  subscribe (bidirectional transports: a client-side subscribe with a day-long subscription
  token; unidirectional ones: the token's ``channels``), wait for one publication, stay a
  moment, then end by the client going away, a server API disconnect or (bidirectional) a
  protocol error.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import grpc
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.stream import stream_pb2_grpc
from centrifugal.centrifugo.unistream import unistream_pb2, unistream_pb2_grpc
from google.protobuf.json_format import MessageToDict

from service.auth import generate_token

DAY = 86400
TIMEOUT = 15.0
TRANSPORTS = (
    "websocket",
    "http_stream",
    "sse",
    "uni_websocket",
    "uni_http_stream",
    "uni_sse",
    "uni_grpc",
    "grpc_stream",
)
BIDIRECTIONAL = {"websocket", "http_stream", "sse", "grpc_stream"}


@dataclass
class Target:
    """Where the server under test listens, and the shared client objects."""

    port: int
    grpc_stream_port: int
    uni_grpc_port: int
    secret: str
    api_key: str
    http: aiohttp.ClientSession  # client connections
    api_http: aiohttp.ClientSession | None = None  # server API calls and /emulation posts
    grpc_channels: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, user: str, channels: list[str] | None = None) -> str:
        extra = {"channels": channels} if channels else None
        return generate_token(secret=self.secret, user=user, ttl=DAY, extra=extra)

    def sub_token(self, user: str, channel: str) -> str:
        return generate_token(secret=self.secret, user=user, ttl=DAY, channel=channel)

    async def api(self, method: str, **params: Any) -> dict[str, Any]:
        """One server API call; the ``result`` or raises RuntimeError with the error."""
        body = json.dumps({"method": method, "params": params}).encode()
        headers = {"Authorization": f"apikey {self.api_key}"}
        async with self.requests().post(f"{self.base}/api", data=body, headers=headers) as r:
            reply = json.loads(await r.read())
        if "error" in reply:
            raise RuntimeError(f"api {method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def requests(self) -> aiohttp.ClientSession:
        """The session of short requests (its keep-alive connections come and go)."""
        if self.api_http is None or self.api_http.closed:
            self.api_http = aiohttp.ClientSession()
        return self.api_http

    async def idle(self) -> None:
        """Close the keep-alive connections of short requests and open both gRPC channels:
        the server's fds then count client connections only (before/after comparisons)."""
        if self.api_http is not None:
            await self.api_http.close()
            self.api_http = None
        for name in ("grpc_stream", "uni_grpc"):
            await asyncio.wait_for(self.grpc_channel(name).channel_ready(), TIMEOUT)

    def grpc_channel(self, name: str) -> Any:
        ch = self.grpc_channels.get(name)
        if ch is None:
            port = self.grpc_stream_port if name == "grpc_stream" else self.uni_grpc_port
            ch = self.grpc_channels[name] = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        return ch

    async def close(self) -> None:
        for ch in self.grpc_channels.values():
            await ch.close()
        if self.api_http is not None:
            await self.api_http.close()


# --- steady subscribers ---------------------------------------------------------------------


class Steady:
    """A long-lived WebSocket subscriber of ``channel`` that accounts for every offset."""

    def __init__(self, t: Target, index: int, channel: str, history_size: int) -> None:
        self.t = t
        self.user = f"steady-{index}"
        self.channel = channel
        self.history_size = history_size
        self.epoch = ""
        self.last = -1  # offset of the last publication accounted for (-1: not subscribed)
        self.received = 0
        self.duplicates = 0
        self.gaps = 0  # offsets skipped on the wire (the server should never let that happen)
        self.unrecovered = 0  # offsets within history that recovery did not return
        self.beyond_history = 0  # offsets missed while away longer than history reaches
        self.resubscribes = 0
        self.reconnects = 0
        self.closes: Counter[str] = Counter()  # why its connection ended (close code)
        self.unrecovered_why: Counter[str] = Counter()
        self.ready = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1

    def _pub(self, offset: int) -> None:
        if offset <= self.last:
            self.duplicates += 1
            return
        if offset > self.last + 1:
            self.gaps += offset - self.last - 1
        self.last = offset
        self.received += 1

    def _subscribe_cmd(self) -> dict[str, Any]:
        self._next_id += 1
        sub: dict[str, Any] = {"channel": self.channel, "recoverable": True, "positioned": True}
        if self.last >= 0:
            sub.update(recover=True, offset=self.last, epoch=self.epoch)
        return {"id": self._next_id, "subscribe": sub}

    def _subscribed(self, result: dict[str, Any]) -> None:
        if self.last >= 0:  # recovering
            if result.get("recovered"):
                for p in result.get("publications", []):
                    self._pub(p.get("offset", 0))
            else:
                top = result.get("offset", 0)
                behind = top - self.last
                if result.get("epoch", "") != self.epoch:
                    self.unrecovered_why["new epoch"] += 1
                elif behind > self.history_size:
                    self.beyond_history += behind
                else:
                    self.unrecovered += max(0, behind)
                    self.unrecovered_why[f"{behind} behind"] += 1
                self.last = top
        else:
            self.last = result.get("offset", 0)
        self.epoch = result.get("epoch", "")
        self.ready.set()

    async def _send(self, *cmds: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_str("\n".join(json.dumps(c) for c in cmds))

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected and subscribed until ``stop`` (reconnecting when cut off)."""
        first = True
        while not stop.is_set():
            if not first:
                self.reconnects += 1
                await asyncio.sleep(0.5)
            first = False
            try:
                await self._session(stop)
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                self.closes[type(e).__name__] += 1
                continue

    async def _session(self, stop: asyncio.Event) -> None:
        url = f"{self.t.base}/connection/websocket"
        async with self.t.http.ws_connect(url, heartbeat=None, autoping=True) as ws:
            self._ws = ws
            connect = {"id": 1, "connect": {"token": self.t.token(self.user)}}
            await self._send(connect, self._subscribe_cmd())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                while True:
                    receiving = asyncio.ensure_future(ws.receive())
                    await asyncio.wait({receiving, stopping}, return_when="FIRST_COMPLETED")
                    if not receiving.done():
                        receiving.cancel()
                        return
                    msg = receiving.result()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        self.closes[f"{msg.type.name} {ws.close_code}"] += 1
                        return
                    for line in msg.data.split("\n"):
                        await self._handle(json.loads(line))
            finally:
                stopping.cancel()
                self._ws = None

    async def _handle(self, reply: dict[str, Any]) -> None:
        if not reply:
            await self._send({})  # pong
            return
        if "subscribe" in reply:
            self._subscribed(reply["subscribe"])
            return
        if "error" in reply:
            if reply.get("id", 0) > 1:  # the subscribe failed (engine down): try again
                await asyncio.sleep(1.0)
                await self._send(self._subscribe_cmd())
            return
        push = reply.get("push")
        if push is None or push.get("channel") != self.channel:
            return
        if "pub" in push:
            self._pub(push["pub"].get("offset", 0))
        elif "unsubscribe" in push:
            self.resubscribes += 1
            await self._send(self._subscribe_cmd())

    def missing(self, top: int) -> int:
        """Offsets up to the stream top ``top`` that this client has not reached (what it
        skipped on the way is counted apart, in ``gaps`` and ``unrecovered``)."""
        return max(0, top - self.last)


# --- short-lived clients ----------------------------------------------------------------------


class Conn:
    """One short-lived connection; ``pushes`` yields its pushes as JSON-like dicts."""

    def __init__(self, t: Target, user: str, channel: str) -> None:
        self.t = t
        self.user = user
        self.channel = channel

    async def open(self) -> None:
        raise NotImplementedError

    def pushes(self) -> AsyncIterator[dict[str, Any]]:
        raise NotImplementedError

    async def break_protocol(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def wait(self, pred: Callable[[dict[str, Any]], bool]) -> None:
        last: dict[str, Any] = {}
        async for push in self.pushes():
            if pred(push):
                return
            last = push
        raise EOFError(f"connection ended after {last}")

    def connect_cmd(self) -> dict[str, Any]:
        return {"id": 1, "connect": {"token": self.t.token(self.user)}}

    def subscribe_cmd(self) -> dict[str, Any]:
        token = self.t.sub_token(self.user, self.channel)
        return {"id": 2, "subscribe": {"channel": self.channel, "token": token}}

    def uni_connect(self) -> dict[str, Any]:
        return {"token": self.t.token(self.user, [self.channel])}


def _push_of(reply: dict[str, Any], bidirectional: bool) -> dict[str, Any] | None:
    if not bidirectional:
        return reply
    if "error" in reply:
        raise RuntimeError(f"reply error {reply['error']}")
    push: dict[str, Any] | None = reply.get("push")
    return push


class WsConn(Conn):
    bidirectional = True
    path = "/connection/websocket"

    async def open(self) -> None:
        self.ws = await self.t.http.ws_connect(self.t.base + self.path, heartbeat=None)
        if self.bidirectional:
            cmds = [self.connect_cmd(), self.subscribe_cmd()]
            await self.ws.send_str("\n".join(json.dumps(c) for c in cmds))
        else:
            await self.ws.send_str(json.dumps(self.uni_connect()))

    async def pushes(self) -> AsyncIterator[dict[str, Any]]:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            for line in msg.data.split("\n"):
                push = _push_of(json.loads(line), self.bidirectional)
                if push:
                    yield push
        yield {"disconnect": {"code": self.ws.close_code}}

    async def break_protocol(self) -> None:
        await self.ws.send_str("{not json")

    async def close(self) -> None:
        await self.ws.close()


class UniWsConn(WsConn):
    bidirectional = False
    path = "/connection/uni_websocket"


class StreamConn(Conn):
    """A streaming HTTP response: JSON lines, or SSE events when ``sse``."""

    bidirectional = True
    sse = False
    resp: aiohttp.ClientResponse

    async def pushes(self) -> AsyncIterator[dict[str, Any]]:
        content = self.resp.content
        while True:
            line = await content.readline()
            if not line:
                break
            line = line.strip()
            if self.sse:
                if not line.startswith(b"data:"):
                    continue
                line = line[5:].strip()
            if not line:
                continue
            reply = json.loads(line)
            if self.bidirectional and "connect" in reply:
                self.session = reply["connect"]["session"]
                self.node = reply["connect"]["node"]
                await self.emulate(self.subscribe_cmd())
                continue
            push = _push_of(reply, self.bidirectional)
            if push:
                yield push

    async def emulate(self, cmd: dict[str, Any] | str) -> None:
        data = cmd if isinstance(cmd, str) else json.dumps(cmd)
        body = json.dumps({"node": self.node, "session": self.session, "data": data})
        async with self.t.requests().post(f"{self.t.base}/emulation", data=body) as r:
            if r.status != 204:
                raise RuntimeError(f"emulation answered {r.status}")

    async def break_protocol(self) -> None:
        await self.emulate("{not json")

    async def close(self) -> None:
        self.resp.close()


class HttpStreamConn(StreamConn):
    async def open(self) -> None:
        url = f"{self.t.base}/connection/http_stream"
        self.resp = await self.t.http.post(url, data=json.dumps(self.connect_cmd()))


class SseConn(StreamConn):
    sse = True

    async def open(self) -> None:
        query = urlencode({"cf_connect": json.dumps(self.connect_cmd())})
        self.resp = await self.t.http.get(f"{self.t.base}/connection/sse?{query}")


class UniHttpStreamConn(StreamConn):
    bidirectional = False

    async def open(self) -> None:
        url = f"{self.t.base}/connection/uni_http_stream"
        self.resp = await self.t.http.post(url, data=json.dumps(self.uni_connect()))


class UniSseConn(StreamConn):
    bidirectional = False
    sse = True

    async def open(self) -> None:
        query = urlencode({"cf_connect": json.dumps(self.uni_connect())})
        self.resp = await self.t.http.get(f"{self.t.base}/connection/uni_sse?{query}")


class GrpcStreamConn(Conn):
    async def open(self) -> None:
        stub = stream_pb2_grpc.CentrifugoStreamStub(self.t.grpc_channel("grpc_stream"))
        self.call = stub.Communicate()
        await self.call.write(
            client_pb2.Command(
                id=1, connect=client_pb2.ConnectRequest(token=self.t.token(self.user))
            )
        )
        sub = client_pb2.SubscribeRequest(
            channel=self.channel, token=self.t.sub_token(self.user, self.channel)
        )
        await self.call.write(client_pb2.Command(id=2, subscribe=sub))

    async def pushes(self) -> AsyncIterator[dict[str, Any]]:
        async for reply in self.call:
            push = _push_of(MessageToDict(reply, preserving_proto_field_name=True), True)
            if push:
                yield push
        yield {"disconnect": {}}

    async def break_protocol(self) -> None:  # a second connect: 3501
        await self.call.write(client_pb2.Command(id=3, connect=client_pb2.ConnectRequest()))

    async def close(self) -> None:
        self.call.cancel()


class UniGrpcConn(Conn):
    async def open(self) -> None:
        stub = unistream_pb2_grpc.CentrifugoUniStreamStub(self.t.grpc_channel("uni_grpc"))
        req = unistream_pb2.ConnectRequest(token=self.t.token(self.user, [self.channel]))
        self.call = stub.Consume(req)

    async def pushes(self) -> AsyncIterator[dict[str, Any]]:
        async for push in self.call:
            yield MessageToDict(push, preserving_proto_field_name=True)
        yield {"disconnect": {}}

    async def break_protocol(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        self.call.cancel()


CONNS: dict[str, type[Conn]] = {
    "websocket": WsConn,
    "http_stream": HttpStreamConn,
    "sse": SseConn,
    "uni_websocket": UniWsConn,
    "uni_http_stream": UniHttpStreamConn,
    "uni_sse": UniSseConn,
    "uni_grpc": UniGrpcConn,
    "grpc_stream": GrpcStreamConn,
}


class Churner:
    """Short-lived clients, counted per transport: started, done, failed (by error)."""

    def __init__(self, t: Target) -> None:
        self.t = t
        self.started: Counter[str] = Counter()
        self.done: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    async def run(self, transport: str, index: int, channel: str, linger: float) -> None:
        cause = "client"
        if index % 10 == 3:
            cause = "server"
        elif index % 10 == 7 and transport in BIDIRECTIONAL:
            cause = "error"
        conn = CONNS[transport](self.t, f"churn-{index}", channel)
        self.started[transport] += 1
        try:
            async with asyncio.timeout(TIMEOUT + linger):
                await conn.open()
                await conn.wait(lambda p: p.get("channel") == channel and "pub" in p)
                await asyncio.sleep(linger)
                if cause == "server":
                    await self.t.api("disconnect", user=conn.user)
                    await conn.wait(lambda p: "disconnect" in p)
                elif cause == "error":
                    await conn.break_protocol()
                    await conn.wait(lambda p: "disconnect" in p)
            self.done[transport] += 1
        except Exception as e:  # counted, never fatal: the soak goes on
            self.failed[transport] += 1
            kind = type(e).__name__
            if isinstance(e, grpc.aio.AioRpcError):
                kind += f" {e.code().name}"
            self.errors[f"{transport}: {kind}"] += 1
        finally:
            try:
                await conn.close()
            except Exception:
                pass
