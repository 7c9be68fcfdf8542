"""In-process server with the HTTP client transports, plus raw HTTP clients for byte checks.

:func:`running` starts the real composition root (``service.app.start_server``) on
127.0.0.1:0: every client transport and ``POST /api`` share its external port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from service.app import Server, start_server
from service.config import load_config

SECRET = "transports-secret-0123456789abcdef"
API_KEY = "transports-api-key"
TIMEOUT = 5.0
# No app-level ping while a test runs, for tests that check frames byte for byte: the first
# ping comes at a random moment within ping_interval (docs/protocol.md#ping-and-pong).
QUIET = {"ping_interval": "300s", "pong_timeout": "200s"}


def token(user: str, **claims: Any) -> str:
    body: dict[str, Any] = {"sub": user, "exp": int(time.time()) + 3600}
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")


def base_config(**overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "token_hmac_secret_key": SECRET,
        "api_key": API_KEY,
        "address": "127.0.0.1",
        "port": 0,
        "log_level": "error",
        "shutdown_timeout": "2s",
        "http_stream": True,
        "sse": True,
        "uni_websocket": True,
        "uni_sse": True,
        "uni_http_stream": True,
        "sockjs": True,
        "allowed_origins": ["https://*.example.com"],
        "namespaces": [
            {
                "name": "news",
                "allow_subscribe_for_client": True,
                "allow_publish_for_client": True,
                "allow_presence_for_client": True,
                "allow_history_for_client": True,
                "presence": True,
                "history_size": 50,
                "history_ttl": "300s",
                "force_recovery": True,
            },
            {"name": "plain", "allow_subscribe_for_client": True},
        ],
    }
    cfg.update(overrides)
    return cfg


@dataclass
class Harness:
    server: Server
    port: int
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        scheme = "https" if self.server.cfg.tls else "http"  # TLS: self-signed, not verified
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def node_id(self) -> str:
        return self.server.node.id

    async def api(self, method: str, **params: Any) -> dict[str, Any]:
        async with self.http.post(
            f"{self.base}/api",
            data=json.dumps({"method": method, "params": params}, separators=(",", ":")),
            headers={"Authorization": f"apikey {API_KEY}"},
        ) as r:
            assert r.status == 200, r.status
            body: dict[str, Any] = json.loads(await r.read())
            assert "error" not in body, body
            return body

    async def publish(self, channel: str, data: Any) -> dict[str, Any]:
        return await self.api("publish", channel=channel, data=data)


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(base_config(**overrides)))
    cfg, _ = load_config(str(path), env={})
    server = await start_server(cfg)  # the real composition root serves every route
    port = server.ports["external"]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
    try:
        yield Harness(server=server, port=port, http=http)
    finally:
        await http.close()
        await server.stop()


# --- raw HTTP/1.1 client --------------------------------------------------------------------


class RawResponse:
    """A raw HTTP/1.1 response read incrementally (chunked bodies decoded by hand)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunked = False
        self.buf = b""  # decoded body bytes not consumed yet
        self.ended = False

    async def read_head(self) -> None:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"

    async def chunk(self) -> bytes:
        """The next chunk's data exactly as framed by the server; b"" at the end."""
        assert self.chunked
        size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), TIMEOUT)
        size = int(size_line.strip(), 16)
        data = await asyncio.wait_for(self.reader.readexactly(size + 2), TIMEOUT)
        assert data.endswith(b"\r\n")
        if size == 0:
            self.ended = True
        return data[:-2]

    async def more(self) -> bool:
        if self.ended:
            return False
        if self.chunked:
            data = await self.chunk()
            if not data:
                return False
        else:
            data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            if not data:
                self.ended = True
                return False
        self.buf += data
        return True

    async def until(self, sep: bytes) -> bytes:
        """Body bytes up to and including ``sep``."""
        while sep not in self.buf:
            if not await self.more():
                raise EOFError(self.buf)
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    async def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not await self.more():
                raise EOFError(self.buf)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    async def rest(self) -> bytes:
        """Everything until the body ends."""
        while await self.more():
            pass
        out, self.buf = self.buf, b""
        return out

    async def json_line(self) -> Any:
        """The next ``\\n``-terminated JSON message, server pings (``{}``) skipped: the
        first one comes at a random moment within ping_interval."""
        while True:
            message = json.loads(await self.until(b"\n"))
            if message != {}:
                return message

    async def sse_event(self) -> dict[str, str]:
        """Next SSE event as {field: value} (``data`` joined)."""
        raw = await self.until(b"\n\n")
        out: dict[str, str] = {}
        for line in raw.decode().split("\n"):
            if not line:
                continue
            k, _, v = line.partition(":")
            out[k] = v[1:] if v.startswith(" ") else v
        return out

    async def sse_json(self) -> Any:
        """The ``data`` of the next SSE event as JSON, server pings (``{}``) skipped."""
        while True:
            message = json.loads((await self.sse_event())["data"])
            if message != {}:
                return message

    def close(self) -> None:
        self.writer.close()


async def raw_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    rcvbuf: int = 0,
) -> RawResponse:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
    hdrs = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if body or method in ("POST", "PUT"):
        hdrs["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    writer.write(head.encode() + b"\r\n" + body)
    resp = RawResponse(reader, writer)
    await resp.read_head()
    return resp


async def wait_for(pred: Any, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)
