"""A SockJS session: the ``Transport`` the core writes to, and the receivers it writes through.

A SockJS session outlives single HTTP requests: xhr_streaming, eventsource and htmlfile
responses end after 128 KiB and xhr/jsonp polls after one frame, and the client then opens
the next receiving request for the same session.  Between two of them outgoing messages wait
in a backlog (counted by ``buffered``, so a client that stops polling is disconnected as slow,
3008, like any other); a session without a receiver for ``disconnect_delay`` seconds is gone
(3000).  These sessions have no write timeout: a message waiting for the client's next
request is not a stalled write (a poll may come a second or more later on a slow network),
as for HTTP-streaming.  Over websocket the session is the WebSocket connection itself.

Every flush of the core's writer becomes one SockJS message (replies joined with ``\\n``);
a disconnect is the close frame ``c[code,"reason"]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from ..core.client import ClientSession
from ..core.node import Node
from ..core.transport import Transport
from ..protocol import JSON, sockjs
from ..protocol.chunk import LINES
from ..protocol.codes import DISCONNECT_CONNECTION_CLOSED, DisconnectCode
from .http_stream import StreamConnection
from .websocket import frame_header

TEXT = 0x1
GO_AWAY = sockjs.close_frame(DISCONNECT_CONNECTION_CLOSED.code, "Go away!")
STILL_OPEN = sockjs.close_frame(2010, "Another connection still open")

# One-entry frame cache: a broadcast hands the same bytes to every subscriber's writer, so at
# one message per flush the ``a[...]`` frame is built once per publication.
# Measured: framing 1 message for 1000 sessions 29 us vs 610 us uncached (bench/micro.py sockjs).
_cache_src: list[bytes | None] = [None]
_cache_frame: list[bytes] = [b""]


class Receiver(Protocol):
    """Where frames of a session go right now (one HTTP response or the WebSocket)."""

    def send(self, frame: bytes) -> bool:
        """Write one frame; False once this receiver is done (limit reached, polled)."""
        ...

    def buffered(self) -> int: ...

    def end(self, *, abort: bool = False) -> None: ...


class WebSocketReceiver:
    """SockJS over websocket: one text frame per SockJS frame, written to the socket."""

    __slots__ = ("close_task", "sock", "ws")

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        sock = request.transport
        assert sock is not None
        self.sock: asyncio.Transport = sock
        self.ws = ws
        self.close_task: asyncio.Task[bool] | None = None

    def send(self, frame: bytes) -> bool:
        if not self.sock.is_closing():
            self.sock.write(frame_header(TEXT, len(frame)) + frame)
        return True

    def buffered(self) -> int:
        return self.sock.get_write_buffer_size()

    def end(self, *, abort: bool = False) -> None:
        if abort:
            self.sock.abort()
        elif self.close_task is None and not self.ws.closed:
            self.close_task = asyncio.get_running_loop().create_task(self.ws.close())


class StreamReceiver:
    """One streaming (or, with ``poll``, polling) HTTP response of a session."""

    __slots__ = ("conn", "poll", "sent", "wrap")

    def __init__(
        self, conn: StreamConnection, wrap: Callable[[bytes], bytes], *, poll: bool
    ) -> None:
        self.conn = conn
        self.wrap = wrap
        self.poll = poll
        self.sent = 0

    def send(self, frame: bytes) -> bool:
        data = self.wrap(frame)
        self.conn.write(data)
        self.sent += len(data)
        if self.poll or self.sent > sockjs.STREAMING_RESPONSE_LIMIT:
            self.conn.close()
            return False
        return True

    def buffered(self) -> int:
        return self.conn.buffered()

    def end(self, *, abort: bool = False) -> None:
        self.conn.close(abort=abort)


class SockJSTransport:
    """``Transport`` of one SockJS session (JSON only, close frames for disconnects)."""

    __slots__ = (
        "_on_detached",
        "backlog",
        "backlog_bytes",
        "closed_frame",
        "receiver",
        "write_timeout",
    )

    name = "sockjs"
    codec = JSON
    chunk_framing = LINES
    unidirectional = False
    emulation = False
    disconnect_push = False
    app_ping = True

    def __init__(self, on_detached: Callable[[], None], *, write_timeout: float = 0.0) -> None:
        self.receiver: Receiver | None = None
        self.backlog: list[bytes] = []
        self.backlog_bytes = 0
        self.closed_frame: bytes | None = None
        self.write_timeout = write_timeout
        self._on_detached = on_detached

    # --- receivers ------------------------------------------------------------------------

    def attach(self, receiver: Receiver) -> bool:
        """Start sending through ``receiver``; False when another one is still attached."""
        if self.receiver is not None:
            return False
        if self.closed_frame is not None:
            receiver.send(self.closed_frame)
            receiver.end()
            return True
        self.receiver = receiver
        if self.backlog:
            messages, self.backlog, self.backlog_bytes = self.backlog, [], 0
            self._send(sockjs.message_frame(messages))
        return True

    def detach(self, receiver: Receiver) -> None:
        if self.receiver is receiver:
            self.receiver = None
            self._on_detached()

    def _send(self, frame: bytes) -> None:
        receiver = self.receiver
        assert receiver is not None
        if not receiver.send(frame):
            self.detach(receiver)

    def heartbeat(self) -> None:
        if self.receiver is not None and self.closed_frame is None:
            self._send(sockjs.HEARTBEAT)

    # --- Transport ------------------------------------------------------------------------

    def write(self, messages: list[bytes]) -> None:
        if self.closed_frame is not None:
            return
        payload = b"\n".join(messages)
        if self.receiver is None:
            self.backlog.append(payload)
            self.backlog_bytes += len(payload)
            return
        if len(messages) == 1 and messages[0] is _cache_src[0]:
            frame = _cache_frame[0]
        else:
            frame = sockjs.message_frame([payload])
            if len(messages) == 1:
                _cache_src[0] = messages[0]
                _cache_frame[0] = frame
        self._send(frame)

    def buffered(self) -> int:
        receiver = self.receiver
        return self.backlog_bytes + (receiver.buffered() if receiver is not None else 0)

    def close(self, disconnect: DisconnectCode | None) -> None:
        if self.closed_frame is not None:
            return
        if disconnect is None or disconnect.code == 3000:
            self.closed_frame = GO_AWAY
        else:
            self.closed_frame = sockjs.close_frame(disconnect.code, disconnect.reason)
        self.backlog.clear()
        self.backlog_bytes = 0
        receiver = self.receiver
        if receiver is None:  # detached already: the session's expiry check is pending
            return
        self.receiver = None
        if disconnect is not None and disconnect.slow:
            receiver.end(abort=True)
        else:
            receiver.send(self.closed_frame)
            receiver.end()
        self._on_detached()


class Session:
    """A SockJS session of the HTTP transports, kept by id between requests."""

    __slots__ = ("client", "detached_at", "id", "node", "on_gone", "transport")

    def __init__(
        self,
        node: Node,
        session_id: str,
        *,
        headers: dict[str, str],
        on_gone: Callable[[Session], None],
        wrap: Callable[[SockJSTransport], Transport] | None = None,
    ) -> None:
        self.node = node
        self.id = session_id
        self.on_gone = on_gone
        self.detached_at = asyncio.get_running_loop().time()
        self.transport = SockJSTransport(self.touch)
        core_transport = wrap(self.transport) if wrap is not None else self.transport
        self.client = ClientSession(node, core_transport, headers=headers)

    def touch(self) -> None:
        """The session has no receiver since now: check after ``DISCONNECT_DELAY``."""
        self.detached_at = asyncio.get_running_loop().time()
        self.node.timers.schedule(DISCONNECT_DELAY, self._check_gone)

    def _check_gone(self) -> None:
        t = self.transport
        if t.receiver is not None:
            return
        if asyncio.get_running_loop().time() - self.detached_at < DISCONNECT_DELAY - 0.3:
            return
        self.client.on_transport_closed()
        self.on_gone(self)


#: Seconds a session of the HTTP transports may go without a receiving request.
DISCONNECT_DELAY = 5.0
