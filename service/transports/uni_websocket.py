"""Unidirectional WebSocket transport ``/connection/uni_websocket``
(docs/transports.md#unidirectional-transports).

The first WebSocket message is a JSON ConnectRequest (at most
``uni_websocket_message_size_limit`` bytes; aiohttp closes with 1009 beyond).  A
``cf_connect`` query parameter is accepted instead of that message (Centrifugo v6.3 addition;
a v4 client never sends it).  An unparsable connect request just closes the connection.
Every Push is one text message (no batching); app-level pings are ``{}`` pushes every
``ping_interval``, and WebSocket ping frames go out every ``uni_websocket_ping_interval``
(aiohttp heartbeat: no pong in time closes the connection).  A disconnect is a
``disconnect`` push, then TCP is closed without a close frame (v4).  Later client messages
are ignored; the origin check rejects the upgrade with 403.  ``uni_websocket_compression``
(with ``_level`` and ``_min_size``) deflates pushes as the bidirectional WebSocket does
(:class:`.websocket.Deflater`).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import JSON
from ..protocol.codes import DisconnectCode
from ..protocol.messages import ConnectRequest
from .http_stream import client_headers
from .limits import ConnectionLimiter
from .origin import OriginChecker
from .uni_http_stream import decode_connect_request, protocol_version_ok
from .websocket import Deflater, frame_header

log = logging.getLogger("gyre.uni_websocket")

TEXT_OPCODE = 0x1


class UniWebSocketTransport:
    """``Transport`` of one uni_websocket connection: one text frame per Push."""

    __slots__ = ("_deflate", "_socket", "ws")

    name = "uni_websocket"
    codec = JSON
    unidirectional = True
    emulation = False
    disconnect_push = True
    app_ping = True

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, deflate: Deflater | None = None
    ) -> None:
        self.ws = ws
        sock = request.transport
        assert sock is not None
        self._socket: asyncio.Transport = sock
        self._deflate = deflate

    def write(self, messages: list[bytes]) -> None:
        sock = self._socket
        if sock.is_closing():
            return
        deflate = self._deflate
        if deflate is not None:
            sock.write(b"".join([deflate.cached_frame(TEXT_OPCODE, m, m) for m in messages]))
            return
        if len(messages) == 1:
            msg = messages[0]
            sock.write(frame_header(TEXT_OPCODE, len(msg)) + msg)
            return
        sock.write(b"".join([frame_header(TEXT_OPCODE, len(m)) + m for m in messages]))

    def buffered(self) -> int:
        return self._socket.get_write_buffer_size()

    def close(self, disconnect: DisconnectCode | None) -> None:
        """Close TCP (after the disconnect push); 3008 drops pending bytes."""
        sock = self._socket
        if sock.is_closing():
            return
        if disconnect is not None and disconnect.slow:
            sock.abort()
        else:
            sock.close()


class UniWebSocketHandler:
    """aiohttp handler of ``/connection/uni_websocket``."""

    def __init__(
        self,
        node: Node,
        *,
        origins: OriginChecker,
        limiter: ConnectionLimiter,
        message_size_limit: int = 65536,
        ping_interval: float = 25.0,
        deflate: Deflater | None = None,
    ) -> None:
        self.node = node
        self.origins = origins
        self.limiter = limiter
        self.message_size_limit = message_size_limit
        self.ping_interval = ping_interval
        self.deflate = deflate

    async def _first_message(self, ws: web.WebSocketResponse) -> bytes | None:
        try:
            msg = await ws.receive(timeout=self.node.config.client_stale_close_delay or None)
        except TimeoutError:
            return None
        if msg.type == WSMsgType.TEXT:
            return str(msg.data).encode()
        if msg.type == WSMsgType.BINARY:
            return bytes(msg.data)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self.origins.allowed(request.headers.get("Origin")):
            return web.Response(status=403, text="Forbidden")
        if not protocol_version_ok(request):
            return web.Response(status=400, text="unsupported protocol version")
        if self.node.shutting_down or not self.limiter.allow():
            return web.Response(status=503)
        ws = web.WebSocketResponse(
            max_msg_size=self.message_size_limit,
            autoping=True,
            heartbeat=self.ping_interval if self.ping_interval > 0 else None,
            compress=self.deflate is not None,
            timeout=1.0,
        )
        await ws.prepare(request)
        sock = request.transport
        cf_connect = request.query.get("cf_connect")
        data = cf_connect.encode() if cf_connect else await self._first_message(ws)
        req: ConnectRequest | None = decode_connect_request(data) if data else None
        if req is None:
            if sock is not None and not sock.is_closing():
                sock.close()  # v4: unparsable connect request -> connection just closed
            return ws
        client = ClientSession(
            self.node,
            UniWebSocketTransport(ws, request, self.deflate if ws.compress else None),
            headers=client_headers(request),
        )
        try:
            if await client.connect_unidirectional(req):
                async for msg in ws:  # the client sends nothing more; read to see it leave
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
                        break
        except Exception:
            log.exception("uni_websocket handler failed")
        finally:
            client.on_transport_closed()
        return ws
