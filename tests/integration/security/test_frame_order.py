"""Issue 13.9: a frame with a valid ``connect`` and then a malformed command is handled in
order: the connect is answered, then the connection closes with 3501."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from centrifugal.centrifuge.protocol import client_pb2

from service.protocol.varint import decode_varint, encode_varint
from tests.integration.transports.harness import running, token

from .wsclients import Closed, JsonWS, PbWS, _receive


async def test_json_connect_then_bad_line(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.open(h.http, h.base)
        connect = json.dumps({"id": 1, "connect": {"token": token("alice")}})
        await js.ws.send_str(connect + '\n{"id":2,"subscribe":')
        (reply,) = await js.recv()
        assert reply["id"] == 1 and reply["connect"]["client"]
        assert await js.closed() == 3501


async def test_json_commands_before_bad_line_all_answered(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        lines = [
            json.dumps({"id": 2, "subscribe": {"channel": "news:a"}}),
            json.dumps({"id": 3, "subscribe": {"channel": "news:b"}}),
            "\xff not json",
        ]
        await js.ws.send_str("\n".join(lines))
        got: list[int] = []
        code = None
        while code is None:
            try:
                got += [r["id"] for r in await js.recv()]
            except Closed as e:
                code = e.code
        assert got == [2, 3] and code == 3501


async def test_protobuf_connect_then_truncated_message(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        pb = await PbWS.open(h.http, h.base)
        cmd = client_pb2.Command(id=1)
        cmd.connect.token = token("bob")
        body = cmd.SerializeToString()
        await pb.ws.send_bytes(encode_varint(len(body)) + body + b"\x50\x01")  # 80 bytes promised
        msg = await _receive(pb.ws)
        assert msg.type == aiohttp.WSMsgType.BINARY
        n, pos = decode_varint(msg.data, 0)
        reply = client_pb2.Reply.FromString(msg.data[pos : pos + n])
        assert reply.id == 1 and reply.connect.client
        try:
            while True:
                await _receive(pb.ws)
        except Closed as e:
            assert e.code == 3501
