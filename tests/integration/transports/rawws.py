"""A WebSocket client on a bare TCP stream, for byte-level checks (RSV1, close frames)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

TIMEOUT = 5.0


@dataclass
class Frame:
    fin: bool
    rsv1: bool
    opcode: int
    payload: bytes  # as on the wire (still compressed when rsv1)

    def text(self) -> str:
        if self.rsv1:
            d = zlib.decompressobj(-15)
            return (d.decompress(self.payload + b"\x00\x00\xff\xff")).decode()
        return self.payload.decode()

    def close_code(self) -> int:
        return int(struct.unpack("!H", self.payload[:2])[0])

    def close_reason(self) -> str:
        return self.payload[2:].decode()


class RawWebSocket:
    """``open`` performs the upgrade; ``send_text`` masks; ``frame`` reads one frame."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.pending: list[str] = []

    @classmethod
    async def open(
        cls, port: int, path: str, *, extensions: str = "", origin: str = ""
    ) -> RawWebSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if extensions:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        if origin:
            lines.append(f"Origin: {origin}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        ws = cls(reader, writer)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        first, *rest = head.decode().split("\r\n")
        ws.status = int(first.split()[1])
        for line in rest:
            if ":" in line:
                k, v = line.split(":", 1)
                ws.headers[k.strip().lower()] = v.strip()
        return ws

    def send(self, opcode: int, data: bytes) -> None:
        mask = os.urandom(4)
        n = len(data)
        head = bytes((0x80 | opcode,))
        if n < 126:
            head += bytes((0x80 | n,))
        elif n < 65536:
            head += bytes((0x80 | 126,)) + struct.pack("!H", n)
        else:
            head += bytes((0x80 | 127,)) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self.send(0x1, text.encode())

    async def frame(self, timeout: float = TIMEOUT) -> Frame:
        h = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await asyncio.wait_for(self.reader.readexactly(n), timeout)
        return Frame(bool(h[0] & 0x80), bool(h[0] & 0x40), h[0] & 0x0F, payload)

    async def data_frame(self, timeout: float = TIMEOUT) -> Frame:
        """The next text/binary/close frame (ping frames are answered and skipped)."""
        while True:
            f = await self.frame(timeout)
            if f.opcode == 0x9:
                self.send(0xA, f.payload)
                continue
            return f

    async def message(self, timeout: float = TIMEOUT) -> Any:
        """The next JSON message that is not a server ping (frames may carry several,
        newline-delimited)."""
        while True:
            while not self.pending:
                f = await self.data_frame(timeout)
                assert f.opcode in (0x1, 0x2), (f.opcode, f.payload)
                self.pending.extend(f.text().split("\n"))
            message = self.pending.pop(0)
            if message != "{}":
                return json.loads(message)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
