"""Bidirectional HTTP-streaming transport ``/connection/http_stream``
(docs/transports.md#http-streaming).

``POST`` only (``OPTIONS`` is answered 200 by the CORS wrapper, other methods 405).  The body
carries the initial commands (normally just ``connect``), at most
``http_stream_max_request_body_size`` bytes (413 beyond).  ``Content-Type:
application/octet-stream`` selects protobuf, anything else JSON.  The response is an endless
stream of Replies: JSON replies each followed by ``\\n``, protobuf replies each varint-length
prefixed.  Further commands arrive through ``/emulation`` (``session`` + ``node`` in the
ConnectResult).  A disconnect is a ``push.disconnect`` reply, then the response ends.

This module also holds what every streaming HTTP transport shares (:class:`StreamConnection`):
the response is prepared once by aiohttp, then each flush of the session's writer is framed as
one HTTP/1.1 chunk and written **synchronously** to the socket transport, so ``buffered()`` is
the socket's unsent byte count and a client that stops reading is disconnected with 3008 by
the writer without delaying anyone else (no awaited ``response.write`` per message).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion11

from ..core.client import ClientSession
from ..core.node import Node
from ..protocol import JSON, Codec, ProtocolError, protobuf_codec
from ..protocol.chunk import stream_framing
from ..protocol.codes import DisconnectCode
from .cors import CORS_KEY
from .limits import ConnectionLimiter

log = logging.getLogger("gyre.http_stream")

#: Response headers of every streaming endpoint (docs/transports.md#http-streaming; Go also sets
#: ``Expire: 0``).
STREAM_HEADERS: dict[str, str] = {
    "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expire": "0",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}

PROTOBUF_CONTENT_TYPE = "application/octet-stream"


class _LostProxy(asyncio.Protocol):
    """Stands in for aiohttp's protocol while a stream is open to learn of a lost peer.

    aiohttp does not cancel handlers when the client goes away (``handler_cancellation`` is
    off), and a streaming handler reads nothing, so without this the session would only notice
    a gone client at its next write.  Every callback is forwarded to the real protocol.
    """

    __slots__ = ("_inner", "_on_lost")

    def __init__(self, inner: asyncio.BaseProtocol, on_lost: Callable[[], None]) -> None:
        self._inner: Any = inner
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._on_lost()
        except Exception:
            log.exception("stream close callback failed")
        finally:
            self._inner.connection_lost(exc)


class StreamConnection:
    """One long-lived HTTP response written straight to the socket transport.

    ``open`` prepares the response (status 200, headers, chunked on HTTP/1.1); ``write`` frames
    ``data`` as one chunk and writes it without awaiting; ``close`` ends the stream (``abort``
    drops the TCP connection at once: used for slow clients, 3008); the handler awaits
    ``wait_closed`` and then ``finish``, which writes the terminating chunk through aiohttp.
    """

    __slots__ = (
        "_chunked",
        "_done",
        "_inner",
        "_sock",
        "aborted",
        "closing",
        "on_lost",
        "response",
    )

    def __init__(self, request: web.Request) -> None:
        sock = request.transport
        assert sock is not None
        self._sock: asyncio.Transport = sock
        self._chunked = request.version >= HttpVersion11
        self._done = asyncio.Event()
        self._inner: asyncio.BaseProtocol | None = None
        self.response = web.StreamResponse(status=200)
        self.closing = False
        self.aborted = False
        self.on_lost: Callable[[], None] | None = None

    async def open(self, request: web.Request, content_type: str) -> None:
        resp = self.response
        resp.headers.update(STREAM_HEADERS)
        resp.headers.update(request.get(CORS_KEY) or {})
        resp.headers["Content-Type"] = content_type
        if self._chunked:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        sock = self._sock
        if sock.is_closing():
            self.closing = True
            self._done.set()
            return
        inner = sock.get_protocol()
        self._inner = inner
        sock.set_protocol(_LostProxy(inner, self._lost))

    def _lost(self) -> None:
        self.closing = True
        self._done.set()
        cb = self.on_lost
        if cb is not None:
            cb()

    def write(self, data: bytes) -> None:
        sock = self._sock
        if self.closing or sock.is_closing() or not data:
            return
        if self._chunked:
            sock.write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            sock.write(data)

    def buffered(self) -> int:
        return self._sock.get_write_buffer_size()

    def close(self, *, abort: bool = False) -> None:
        if abort and not self.aborted:
            self.aborted = True
            self._sock.abort()
        self.closing = True
        self._done.set()

    def close_for(self, disconnect: DisconnectCode | None) -> None:
        """``Transport.close`` semantics: 3008 drops the socket, anything else ends the body."""
        self.close(abort=disconnect is not None and disconnect.slow)

    async def wait_closed(self) -> None:
        await self._done.wait()

    async def finish(self) -> None:
        """Give the socket back to aiohttp and end the body (terminating chunk)."""
        sock = self._sock
        inner = self._inner
        self._inner = None
        if inner is not None and not sock.is_closing():
            sock.set_protocol(inner)
        if self.aborted or sock.is_closing():
            return
        if not self._chunked:
            sock.close()
            return
        try:
            await self.response.write_eof()
        except (ConnectionError, RuntimeError) as e:  # the peer is gone already
            log.debug("http stream end not written: %s", e)


class HttpStreamTransport:
    """``Transport`` of one http_stream connection (emulation: ``session`` + ``node``)."""

    __slots__ = ("codec", "conn")

    name = "http_stream"
    unidirectional = False
    emulation = True
    disconnect_push = True
    app_ping = True

    def __init__(self, conn: StreamConnection, codec: Codec) -> None:
        self.conn = conn
        self.codec = codec

    def write(self, messages: list[bytes]) -> None:
        if self.codec.binary:
            self.conn.write(self.codec.join_frames(messages))
        else:
            self.conn.write(b"\n".join(messages) + b"\n")

    @property
    def chunk_framing(self) -> int:
        return stream_framing(self.codec.binary)

    def buffered(self) -> int:
        return self.conn.buffered()

    def close(self, disconnect: DisconnectCode | None) -> None:
        self.conn.close_for(disconnect)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it exceeds ``limit`` bytes (caller answers 413)."""
    if limit > 0 and request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if limit > 0 and size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def joined_headers(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header fields as the proxies forward them, names in lower case.  A field sent on
    several lines keeps every value, as Centrifugo v4 forwards them all: ``Cookie`` lines
    joined with ``; `` (RFC 6265, RFC 9114 section 4.2.1), any other field with ``, ``
    (RFC 9110 section 5.3)."""
    out: dict[str, str] = {}
    for k, v in fields:
        name = k.lower()
        seen = out.get(name)
        out[name] = v if seen is None else seen + ("; " if name == "cookie" else ", ") + v
    return out


def client_headers(request: web.Request) -> dict[str, str]:
    """The connecting request's headers for the proxies (:func:`joined_headers`)."""
    return joined_headers(request.headers.items())


def plain(status: int, request: web.Request, text: str = "") -> web.Response:
    """A small non-streaming answer carrying the request's CORS headers."""
    return web.Response(status=status, text=text or None, headers=request.get(CORS_KEY) or {})


async def run_bidirectional(
    request: web.Request,
    node: Node,
    conn: StreamConnection,
    transport: HttpStreamTransport | Any,
    initial: bytes,
) -> web.StreamResponse:
    """Serve one emulation stream (http_stream or sse) until it is closed from either side."""
    client = ClientSession(node, transport, headers=client_headers(request))
    conn.on_lost = client.on_transport_closed
    try:
        if not conn.closing:
            await client.handle_data_serialized(initial)
        await conn.wait_closed()
    except Exception:
        log.exception("%s handler failed", transport.name)
    finally:
        client.on_transport_closed()
        await conn.finish()
    return conn.response


class HttpStreamHandler:
    """aiohttp handler of ``/connection/http_stream``."""

    def __init__(
        self, node: Node, *, limiter: ConnectionLimiter, max_request_body_size: int = 65536
    ) -> None:
        self.node = node
        self.limiter = limiter
        self.max_request_body_size = max_request_body_size

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return plain(405, request)
        if self.node.shutting_down or not self.limiter.allow():
            return plain(503, request)
        body = await read_body(request, self.max_request_body_size)
        if body is None:
            return plain(413, request)
        binary = request.headers.get("Content-Type", "").startswith(PROTOBUF_CONTENT_TYPE)
        codec = protobuf_codec() if binary else JSON
        try:
            codec.decode_commands(body)
        except ProtocolError:
            return plain(400, request)
        conn = StreamConnection(request)
        await conn.open(request, PROTOBUF_CONTENT_TYPE if binary else "text/plain; charset=utf-8")
        return await run_bidirectional(
            request, self.node, conn, HttpStreamTransport(conn, codec), body
        )
