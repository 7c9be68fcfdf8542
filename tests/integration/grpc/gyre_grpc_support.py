"""Helpers for the gRPC integration tests: config, in-process servers, WS/gRPC clients.

(No ``__init__.py`` in this directory: as a package it would be imported as ``grpc``.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.api import api_pb2_grpc
from centrifugal.centrifugo.stream import stream_pb2_grpc
from centrifugal.centrifugo.unistream import unistream_pb2, unistream_pb2_grpc

from service.app import Server, start_server
from service.auth import generate_token
from service.config import ChannelOptions, Config, NamespaceConfig
from service.servers.grpc import (
    GrpcServers,
)

SECRET = "grpc-test-secret"
TIMEOUT = 5.0


def make_config(**overrides: Any) -> Config:
    """Every listener on 127.0.0.1:0; channels without namespace have presence, join/leave,
    history and recovery; namespace ``plain`` has none of them."""
    options: dict[str, Any] = dict(
        address="127.0.0.1",
        port=0,
        token_hmac_secret_key=SECRET,
        grpc_api=True,
        grpc_api_address="127.0.0.1",
        grpc_api_port=0,
        uni_grpc=True,
        uni_grpc_address="127.0.0.1",
        uni_grpc_port=0,
        grpc_stream=True,
        grpc_stream_address="127.0.0.1",
        grpc_stream_port=0,
        namespaces=(
            NamespaceConfig(
                name="plain",
                options=ChannelOptions(
                    allow_subscribe_for_client=True, allow_publish_for_client=True
                ),
            ),
        ),
        presence=True,
        join_leave=True,
        history_size=100,
        history_ttl=300.0,
        allow_recovery=True,
        allow_positioning=True,
        allow_subscribe_for_client=True,
        allow_publish_for_client=True,
        allow_presence_for_client=True,
        allow_history_for_client=True,
    )
    options.update(overrides)
    return Config(**options)


def token(user: str, ttl: int = 3600, **claims: Any) -> str:
    return generate_token(secret=SECRET, user=user, ttl=ttl, extra=claims or None)


@dataclass
class Gyre:
    """An in-process server with its gRPC servers and gRPC client channels."""

    server: Server
    grpc: GrpcServers
    channels: list[Any] = field(default_factory=list)

    @property
    def ports(self) -> dict[str, int]:
        return {**self.server.ports, **self.grpc.ports}

    def target(self, name: str) -> str:
        return f"127.0.0.1:{self.grpc.ports[name]}"

    def channel(self, name: str, credentials: Any = None, **kwargs: Any) -> Any:
        if credentials is None:
            ch = grpc.aio.insecure_channel(self.target(name), **kwargs)
        else:
            ch = grpc.aio.secure_channel(self.target(name), credentials, **kwargs)
        self.channels.append(ch)
        return ch

    def api(self) -> api_pb2_grpc.CentrifugoApiStub:
        return api_pb2_grpc.CentrifugoApiStub(self.channel("grpc_api"))

    def stream(self, **kwargs: Any) -> StreamClient:
        return StreamClient(self.channel("grpc_stream"), **kwargs)

    def uni(self, req: unistream_pb2.ConnectRequest, **kwargs: Any) -> UniClient:
        return UniClient(self.channel("uni_grpc"), req, **kwargs)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.ports['external']}/connection/websocket"

    async def close(self) -> None:
        for ch in self.channels:
            await ch.close()
        await self.server.stop()


async def start_gyre(cfg: Config) -> Gyre:
    """The real composition root: start_server starts the enabled gRPC servers too."""
    server = await start_server(cfg)
    assert server.grpc is not None
    return Gyre(server, server.grpc)


async def wait_until(pred: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll ``pred`` (for server-side state that has no event to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class _Inbox:
    """Received messages plus a change event, with ``wait(pred)``."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.changed = asyncio.Event()
        self.ended = False

    def add(self, item: Any) -> None:
        self.items.append(item)
        self.changed.set()

    def end(self) -> None:
        self.ended = True
        self.changed.set()

    async def wait(self, pred: Callable[[Any], bool], timeout: float = TIMEOUT) -> Any:
        async def loop() -> Any:
            seen = 0
            while True:
                for item in self.items[seen:]:
                    if pred(item):
                        return item
                seen = len(self.items)
                if self.ended:
                    raise AssertionError(f"stream ended without a match; got {self.items!r}")
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(loop(), timeout)

    async def wait_end(self, timeout: float = TIMEOUT) -> None:
        async def loop() -> None:
            while not self.ended:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


class StreamClient:
    """A ``CentrifugoStream.Communicate`` client built on the generated stub."""

    def __init__(self, channel: Any, *, metadata: Any = None, read: bool = True) -> None:
        self.call = stream_pb2_grpc.CentrifugoStreamStub(channel).Communicate(metadata=metadata)
        self.inbox = _Inbox()
        self._next_id = 0
        self.status: Any = None
        self.reader: asyncio.Task[None] | None = None
        if read:
            self.start_reading()

    def start_reading(self) -> None:
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for reply in self.call:
                self.inbox.add(reply)
            self.status = await self.call.code()
        except grpc.aio.AioRpcError as e:
            self.status = e.code()
        finally:
            self.inbox.end()

    async def send(self, cmd: client_pb2.Command) -> None:
        await self.call.write(cmd)

    async def command(self, **fields: Any) -> client_pb2.Reply:
        """Send a command with a fresh id and return its reply."""
        self._next_id += 1
        cid = self._next_id
        await self.send(client_pb2.Command(id=cid, **fields))
        reply: client_pb2.Reply = await self.inbox.wait(lambda r: r.id == cid)
        return reply

    async def connect(self, tok: str, **fields: Any) -> client_pb2.ConnectResult:
        reply = await self.command(connect=client_pb2.ConnectRequest(token=tok, **fields))
        assert not reply.HasField("error"), reply
        return reply.connect

    async def subscribe(self, channel: str, **fields: Any) -> client_pb2.SubscribeResult:
        reply = await self.command(subscribe=client_pb2.SubscribeRequest(channel=channel, **fields))
        assert not reply.HasField("error"), reply
        return reply.subscribe

    def pushes(self) -> list[client_pb2.Push]:
        return [r.push for r in self.inbox.items if r.HasField("push")]

    async def wait_push(
        self, pred: Callable[[client_pb2.Push], bool], timeout: float = TIMEOUT
    ) -> client_pb2.Push:
        reply = await self.inbox.wait(lambda r: r.HasField("push") and pred(r.push), timeout)
        return reply.push

    async def wait_disconnect(self, timeout: float = TIMEOUT) -> client_pb2.Disconnect:
        push = await self.wait_push(lambda p: p.HasField("disconnect"), timeout)
        await self.inbox.wait_end(timeout)
        return push.disconnect

    async def close(self) -> None:
        self.call.cancel()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


class UniClient:
    """A ``CentrifugoUniStream.Consume`` client built on the generated stub."""

    def __init__(
        self, channel: Any, req: unistream_pb2.ConnectRequest, *, metadata: Any = None
    ) -> None:
        stub = unistream_pb2_grpc.CentrifugoUniStreamStub(channel)
        self.call = stub.Consume(req, metadata=metadata)
        self.inbox = _Inbox()
        self.status: Any = None
        self.details: str | None = None
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for push in self.call:
                self.inbox.add(push)
            self.status = await self.call.code()
        except grpc.aio.AioRpcError as e:
            self.status = e.code()
            self.details = e.details()
        finally:
            self.inbox.end()

    async def wait(
        self, pred: Callable[[unistream_pb2.Push], bool], timeout: float = TIMEOUT
    ) -> unistream_pb2.Push:
        push: unistream_pb2.Push = await self.inbox.wait(pred, timeout)
        return push

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


class WsClient:
    """A JSON-protocol WebSocket client (aiohttp) for observing effects."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.inbox = _Inbox()
        self.close_code: int | None = None
        self.close_reason = ""
        self._next_id = 0
        self.client_id = ""
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str) -> WsClient:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(url, protocols=("centrifuge-json",))
        return cls(session, ws)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    for line in msg.data.split("\n"):
                        if line.strip():
                            self.inbox.add(json.loads(line))
                else:
                    break
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = str(getattr(self.ws, "_close_message", "") or "")
            self.inbox.end()

    async def command(self, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        await self.ws.send_str(json.dumps({"id": cid, **fields}))
        reply: dict[str, Any] = await self.inbox.wait(lambda r: r.get("id") == cid)
        return reply

    async def connect(self, tok: str) -> dict[str, Any]:
        reply = await self.command(connect={"token": tok})
        assert "error" not in reply, reply
        self.client_id = reply["connect"]["client"]
        result: dict[str, Any] = reply["connect"]
        return result

    async def subscribe(self, channel: str, **fields: Any) -> dict[str, Any]:
        reply = await self.command(subscribe={"channel": channel, **fields})
        assert "error" not in reply, reply
        result: dict[str, Any] = reply["subscribe"]
        return result

    async def wait_push(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        reply = await self.inbox.wait(lambda r: "push" in r and pred(r["push"]), timeout)
        push: dict[str, Any] = reply["push"]
        return push

    def pubs(self, channel: str) -> list[Any]:
        return [
            r["push"]["pub"]["data"]
            for r in self.inbox.items
            if "push" in r and r["push"].get("channel") == channel and "pub" in r["push"]
        ]

    async def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        await self.inbox.wait_end(timeout)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self.reader, return_exceptions=True)
        await self.session.close()
