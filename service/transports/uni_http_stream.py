"""Unidirectional HTTP-streaming transport ``/connection/uni_http_stream``
(docs/transports.md#unidirectional-transports).

``POST`` with a JSON ConnectRequest body (at most ``uni_http_stream_max_request_body_size``
bytes, 413 beyond; ``OPTIONS`` 200 via the CORS wrapper, other methods 405).  The response
streams bare Push messages, each JSON followed by ``\\n``; the first is the ``connect`` push
(``session`` set), pings are ``{}`` lines every ``ping_interval``.  A disconnect is a
``disconnect`` push, then the response ends.  A malformed connect request just ends the
response (200, empty body), as in v4.

Also holds the pieces the other unidirectional HTTP transports share: decoding the connect
request and serving a connected unidirectional session until it closes.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from aiohttp import web

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import JSON
from ..protocol.chunk import LINES
from ..protocol.codes import DisconnectCode
from ..protocol.messages import ConnectRequest
from .http_stream import StreamConnection, client_headers, plain, read_body
from .limits import ConnectionLimiter

log = logging.getLogger("gyre.uni_http_stream")

_connect_request = msgspec.json.Decoder(ConnectRequest)


def decode_connect_request(data: bytes) -> ConnectRequest | None:
    """A bare JSON ConnectRequest, or None when malformed (empty included)."""
    if not data:
        return None
    try:
        return _connect_request.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def protocol_version_ok(request: web.Request) -> bool:
    """``cf_protocol_version``: only v2 (or nothing) is served."""
    return request.query.get("cf_protocol_version", "") in ("", "v2")


class UniHttpStreamTransport:
    """``Transport`` of one uni_http_stream connection: newline-terminated JSON Pushes."""

    __slots__ = ("conn",)

    name = "uni_http_stream"
    codec = JSON
    chunk_framing = LINES
    unidirectional = True
    emulation = False
    disconnect_push = True
    app_ping = True

    def __init__(self, conn: StreamConnection) -> None:
        self.conn = conn

    def write(self, messages: list[bytes]) -> None:
        if len(messages) == 1:
            self.conn.write(messages[0] + b"\n")
        else:
            self.conn.write(b"\n".join(messages) + b"\n")

    def buffered(self) -> int:
        return self.conn.buffered()

    def close(self, disconnect: DisconnectCode | None) -> None:
        self.conn.close_for(disconnect)


async def run_unidirectional(
    request: web.Request,
    node: Node,
    conn: StreamConnection,
    transport: Any,
    req: ConnectRequest,
) -> tuple[web.StreamResponse, ClientSession]:
    """Connect ``req`` on the open stream and serve it until it closes from either side."""
    client = ClientSession(node, transport, headers=client_headers(request))
    conn.on_lost = client.on_transport_closed
    if hasattr(transport, "session"):
        transport.session = client
    try:
        if not conn.closing:
            await client.connect_unidirectional(req)
        await conn.wait_closed()
    except Exception:
        log.exception("%s handler failed", transport.name)
    finally:
        client.on_transport_closed()
        await conn.finish()
    return conn.response, client


class UniHttpStreamHandler:
    """aiohttp handler of ``/connection/uni_http_stream``."""

    def __init__(
        self, node: Node, *, limiter: ConnectionLimiter, max_request_body_size: int = 65536
    ) -> None:
        self.node = node
        self.limiter = limiter
        self.max_request_body_size = max_request_body_size

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return plain(405, request)
        if not protocol_version_ok(request):
            return plain(400, request)
        if self.node.shutting_down or not self.limiter.allow():
            return plain(503, request)
        body = await read_body(request, self.max_request_body_size)
        if body is None:
            return plain(413, request)
        req = decode_connect_request(body)
        if req is None:
            return plain(200, request)
        conn = StreamConnection(request)
        await conn.open(request, "text/plain; charset=utf-8")
        resp, _ = await run_unidirectional(
            request, self.node, conn, UniHttpStreamTransport(conn), req
        )
        return resp
