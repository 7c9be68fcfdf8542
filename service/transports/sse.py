"""Bidirectional SSE / EventSource transport ``/connection/sse`` (docs/transports.md#sse).

JSON only.  ``GET`` takes the initial command(s) from the ``cf_connect`` query parameter
(form-decoded; missing -> 400); ``POST`` takes them from the body (at most
``sse_max_request_body_size`` bytes, 413 beyond); other methods 405.  The response is
``200 text/event-stream; charset=utf-8`` with the streaming cache headers; the server first
writes ``\\r\\n``, then every Reply as its own event ``data: <json>\\n\\n`` (never several
replies in one event).  Commands after connect arrive through ``/emulation``.  A disconnect is
a ``push.disconnect`` event, then the response ends.
"""

from __future__ import annotations

from aiohttp import web

from ..core.node import Node
from ..protocol import JSON, ProtocolError
from ..protocol.chunk import SSE, Chunk, sse_event
from ..protocol.codes import DisconnectCode
from .http_stream import StreamConnection, plain, read_body, run_bidirectional
from .limits import ConnectionLimiter

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def sse_events(messages: list[bytes]) -> bytes:
    """One SSE event per message (JSON never contains a raw newline,
    docs/protocol.md#messages-and-encodings); a ``Chunk`` holds its events already."""
    if len(messages) == 1:
        m = messages[0]
        return m if type(m) is Chunk else sse_event(m)
    return b"".join([m if type(m) is Chunk else sse_event(m) for m in messages])


class SseTransport:
    """``Transport`` of one bidirectional SSE connection (emulation, JSON)."""

    __slots__ = ("conn",)

    name = "sse"
    codec = JSON
    chunk_framing = SSE
    unidirectional = False
    emulation = True
    disconnect_push = True
    app_ping = True

    def __init__(self, conn: StreamConnection) -> None:
        self.conn = conn

    def write(self, messages: list[bytes]) -> None:
        self.conn.write(sse_events(messages))

    def buffered(self) -> int:
        return self.conn.buffered()

    def close(self, disconnect: DisconnectCode | None) -> None:
        self.conn.close_for(disconnect)


class SseHandler:
    """aiohttp handler of ``/connection/sse``."""

    def __init__(
        self, node: Node, *, limiter: ConnectionLimiter, max_request_body_size: int = 65536
    ) -> None:
        self.node = node
        self.limiter = limiter
        self.max_request_body_size = max_request_body_size

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "POST"):
            return plain(405, request)
        if self.node.shutting_down or not self.limiter.allow():
            return plain(503, request)
        if request.method == "GET":
            text = request.query.get("cf_connect")
            if text is None:
                return plain(400, request)
            body = text.encode()
        else:
            read = await read_body(request, self.max_request_body_size)
            if read is None:
                return plain(413, request)
            body = read
        try:
            JSON.decode_commands(body)
        except ProtocolError:
            return plain(400, request)
        conn = StreamConnection(request)
        await conn.open(request, SSE_CONTENT_TYPE)
        conn.write(b"\r\n")
        return await run_bidirectional(request, self.node, conn, SseTransport(conn), body)
