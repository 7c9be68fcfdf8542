"""Hand-driven WebSocket clients (JSON and Protobuf) for the security tests.

Both speak client protocol v2 to an in-process server (``transports.harness.running``) and
let a test send exactly the bytes an attacker would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from centrifugal.centrifuge.protocol import client_pb2

from service.protocol.varint import decode_varint, encode_varint

TIMEOUT = 5.0


class Closed(Exception):
    """The server closed the WebSocket with ``code``."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    msg = await asyncio.wait_for(ws.receive(), TIMEOUT)
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        code = msg.data if msg.type == aiohttp.WSMsgType.CLOSE else ws.close_code
        raise Closed(code)
    return msg


class JsonWS:
    """JSON client: ``frames`` keeps every text frame as received (raw text)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.frames: list[str] = []

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, base: str) -> JsonWS:
        ws = await http.ws_connect(base.replace("http", "ws") + "/connection/websocket")
        return cls(ws)

    @classmethod
    async def connected(cls, http: aiohttp.ClientSession, base: str, token: str) -> JsonWS:
        """A client that sent ``connect`` with ``token`` and got its reply."""
        js = await cls.open(http, base)
        assert "connect" in await js.command(connect={"token": token})
        return js

    async def recv(self) -> list[dict[str, Any]]:
        """The replies of the next text frame (raises ``Closed``); pings are answered."""
        while True:
            msg = await _receive(self.ws)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            self.frames.append(msg.data)
            out = [json.loads(line) for line in msg.data.split("\n") if line]
            if out == [{}]:
                await self.ws.send_str("{}")
                continue
            return out

    async def command(self, **cmd: Any) -> dict[str, Any]:
        """Send one command with a fresh id; its reply (raises ``Closed``)."""
        self.next_id += 1
        cid = self.next_id
        await self.ws.send_str(json.dumps({"id": cid, **cmd}))
        while True:
            for reply in await self.recv():
                if reply.get("id") == cid:
                    return reply

    async def closed(self) -> int | None:
        """Read until the server closes; the close code."""
        while True:
            try:
                await self.recv()
            except Closed as e:
                return e.code


class PbWS:
    """Protobuf client (``centrifuge-protobuf`` subprotocol)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, base: str) -> PbWS:
        ws = await http.ws_connect(
            base.replace("http", "ws") + "/connection/websocket",
            protocols=("centrifuge-protobuf",),
        )
        return cls(ws)

    async def command(self, cmd: client_pb2.Command) -> client_pb2.Reply:
        self.next_id += 1
        cmd.id = self.next_id
        body = cmd.SerializeToString()
        await self.ws.send_bytes(encode_varint(len(body)) + body)
        while True:
            msg = await _receive(self.ws)
            data, pos = bytes(msg.data), 0
            while pos < len(data):
                n, pos = decode_varint(data, pos)
                reply = client_pb2.Reply.FromString(data[pos : pos + n])
                pos += n
                if reply.id == cmd.id:
                    return reply

    async def connect(self, token: str) -> client_pb2.Reply:
        cmd = client_pb2.Command()
        cmd.connect.token = token
        return await self.command(cmd)

    async def subscribe(self, channel: str) -> client_pb2.Reply:
        cmd = client_pb2.Command()
        cmd.subscribe.channel = channel
        return await self.command(cmd)

    async def publish(self, channel: str, data: bytes) -> client_pb2.Reply:
        cmd = client_pb2.Command()
        cmd.publish.channel = channel
        cmd.publish.data = data
        return await self.command(cmd)
