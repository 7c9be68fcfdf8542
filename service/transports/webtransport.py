"""WebTransport over HTTP/3 at ``/connection/webtransport`` (options ``http3`` + ``webtransport``).

An aioquic HTTP/3 listener on UDP, on the same port number as the main TCP listener, with the
main listener's TLS certificate (docs/transports.md, "WebTransport").  A client opens a
WebTransport session (extended CONNECT, ``:protocol: webtransport``), then one bidirectional
stream carrying the client protocol: newline-delimited JSON, or varint-delimited Protobuf
with ``?cf_protocol=protobuf``.  JSON replies are each followed by ``\\n``.  A disconnect is
a Disconnect push, then (about a second later, so the push is read first) the session is
closed with a CLOSE_WEBTRANSPORT_SESSION capsule whose error code is the disconnect code.

Rules shared with WebSocket: ``allowed_origins`` (403), connection limits and shutdown (503),
``websocket_message_size_limit`` for one incoming command (beyond it: 3501),
``client_queue_max_size`` on the stream's bytes not yet sent (3008),
``websocket_write_timeout`` (3009).  No bidirectional stream within 10 s closes the session.
A client that ends (FIN) or resets its command stream, or resets the session, is gone (3000),
as in Centrifugo v4, which stops reading the stream there.
Other HTTP/3 requests are answered 404: only WebTransport is served over HTTP/3.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer, serve
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, ProtocolNegotiated, QuicEvent, StreamReset

from ..core.client import ClientSession
from ..core.node import Node
from ..core.timers import Timer
from ..protocol import JSON, Codec, ProtocolError, protobuf_codec
from ..protocol.chunk import stream_framing
from ..protocol.codes import DISCONNECT_BAD_REQUEST, DisconnectCode
from ..protocol.varint import decode_varint
from .http_stream import joined_headers
from .limits import ConnectionLimiter
from .origin import OriginChecker

log = logging.getLogger("gyre.webtransport")

CLOSE_SESSION_CAPSULE = 0x2843  # CLOSE_WEBTRANSPORT_SESSION
ACCEPT_TIMEOUT = 10.0
CLOSE_DELAY = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WebTransportOptions:
    path: str = "/connection/webtransport"
    message_size_limit: int = 65536
    write_timeout: float = 1.0


def close_capsule(code: int, reason: str) -> bytes:
    """CLOSE_WEBTRANSPORT_SESSION: a 32-bit error code and a UTF-8 reason."""
    body = code.to_bytes(4, "big") + reason.encode()[:1024]
    return encode_uint_var(CLOSE_SESSION_CAPSULE) + encode_uint_var(len(body)) + body


def split_json(buf: bytearray, limit: int) -> bytes | None:
    """Complete lines at the start of ``buf`` (removed from it), without the last newline;
    None when there is none.  Raises ProtocolError when an unfinished line exceeds
    ``limit``."""
    end = buf.rfind(b"\n")
    if end < 0:
        if limit > 0 and len(buf) > limit:
            raise ProtocolError("command too large")
        return None
    frame = bytes(buf[:end])
    del buf[: end + 1]
    return frame


def split_protobuf(buf: bytearray, limit: int) -> bytes | None:
    """Complete varint-delimited messages at the start of ``buf`` (removed from it)."""
    pos = 0
    n = len(buf)
    with memoryview(buf) as view:  # released before ``buf`` is resized
        while pos < n:
            try:
                length, start = decode_varint(view, pos)
            except ProtocolError:
                if n - pos > 10:
                    raise
                break  # the varint itself is not complete yet
            if limit > 0 and length > limit:
                raise ProtocolError("command too large")
            if start + length > n:
                break
            pos = start + length
    if pos == 0:
        return None
    frame = bytes(buf[:pos])
    del buf[:pos]
    return frame


class WebTransportStream:
    """``Transport`` of one session's bidirectional stream."""

    __slots__ = ("_closing", "codec", "conn", "session_id", "stream_id", "write_timeout")

    name = "webtransport"
    unidirectional = False
    emulation = False
    disconnect_push = True
    app_ping = True

    def __init__(
        self, conn: Http3Protocol, session_id: int, stream_id: int, codec: Codec, timeout: float
    ) -> None:
        self.conn = conn
        self.session_id = session_id
        self.stream_id = stream_id
        self.codec = codec
        self.write_timeout = timeout
        self._closing = False

    def write(self, messages: list[bytes]) -> None:
        if self._closing:
            return
        if self.codec.binary:
            data = self.codec.join_frames(messages)
        else:
            data = b"\n".join(messages) + b"\n"
        self.conn.send_stream(self.stream_id, data)

    @property
    def chunk_framing(self) -> int:
        return stream_framing(self.codec.binary)

    def buffered(self) -> int:
        return self.conn.unsent(self.stream_id)

    def close(self, disconnect: DisconnectCode | None) -> None:
        if self._closing:
            return
        self._closing = True
        self.conn.close_session(self.session_id, self.stream_id, disconnect)


class Session:
    """One WebTransport session: its command stream, incoming buffer and client."""

    __slots__ = (
        "accept_timer",
        "buf",
        "client",
        "codec",
        "ended",
        "headers",
        "id",
        "stream_id",
        "task",
        "wake",
    )

    def __init__(self, session_id: int, codec: Codec, headers: dict[str, str]) -> None:
        self.id = session_id
        self.codec = codec
        self.headers = headers
        self.stream_id: int | None = None
        self.client: ClientSession | None = None
        self.buf = bytearray()
        self.ended = False  # the client ended its command stream (FIN)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        # closes a session that opens no command stream; it holds the session, so it is
        # cancelled as soon as the stream comes or the session ends
        self.accept_timer: Timer | None = None

    def stop_accept_timer(self) -> None:
        """Cancel the no-command-stream timer (idempotent)."""
        if self.accept_timer is not None:
            self.accept_timer.cancel()
            self.accept_timer = None


class Http3Protocol(QuicConnectionProtocol):
    """One QUIC connection: HTTP/3 with WebTransport sessions."""

    handler: WebTransportHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3: H3Connection | None = None
        self.sessions: dict[int, Session] = {}

    # --- QUIC / HTTP/3 events -------------------------------------------------------------

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._h3 = H3Connection(self._quic, enable_webtransport=True)
        elif isinstance(event, ConnectionTerminated):
            for s in list(self.sessions.values()):
                self._end(s)
        elif isinstance(event, StreamReset):
            # the client reset its command stream or the session's CONNECT stream: it is gone
            # (aioquic's HTTP/3 layer reports no event for a reset)
            for s in list(self.sessions.values()):
                if event.stream_id in (s.id, s.stream_id):
                    self._end(s)
        if self._h3 is not None:
            try:
                for ev in self._h3.handle_event(event):
                    self._h3_event(ev)
            except Exception:
                log.exception("HTTP/3 event handling failed")
                self.close()

    def _h3_event(self, ev: H3Event) -> None:
        if isinstance(ev, HeadersReceived):
            self.handler.open_session(self, ev.stream_id, ev.headers)
        elif isinstance(ev, WebTransportStreamDataReceived):
            session = self.sessions.get(ev.session_id)
            if session is None:
                self.stop(ev.stream_id)
                return
            self.handler.stream_data(self, session, ev.stream_id, ev.data, ev.stream_ended)
        elif isinstance(ev, DataReceived) and ev.stream_ended:
            session = self.sessions.get(ev.stream_id)
            if session is not None:  # the client closed the session
                self._end(session)

    # --- used by the handler and the transport --------------------------------------------

    def respond(self, stream_id: int, status: int, *, end: bool) -> None:
        assert self._h3 is not None
        headers = [(b":status", str(status).encode())]
        if status == 200:
            headers.append((b"sec-webtransport-http3-draft", b"draft02"))
        self._h3.send_headers(stream_id, headers, end_stream=end)
        self.transmit()

    def stop(self, stream_id: int) -> None:
        """Refuse a stream (not the session's command stream)."""
        try:
            self._quic.stop_stream(stream_id, 0)
            self.transmit()
        except Exception:
            pass

    def send_stream(self, stream_id: int, data: bytes, end: bool = False) -> None:
        try:
            self._quic.send_stream_data(stream_id, data, end)
        except Exception:  # stream already reset or connection closed
            return
        self.transmit()

    def unsent(self, stream_id: int) -> int:
        """Stream bytes not yet put into a packet (new or to be retransmitted): what a socket's
        write buffer is to TCP.  Bytes in flight waiting for an ACK do not count, as a
        client that reads but acknowledges late is not slow."""
        # aioquic has no public API for this: the sender keeps the ranges still to send
        stream = self._quic._streams.get(stream_id)
        if stream is None:
            return 0
        return sum(len(r) for r in stream.sender._pending)

    def close_session(
        self, session_id: int, stream_id: int, disconnect: DisconnectCode | None
    ) -> None:
        """End the command stream now and the session ``CLOSE_DELAY`` later."""
        session = self.sessions.get(session_id)
        code = 0 if disconnect is None else disconnect.code
        reason = "" if disconnect is None else disconnect.reason
        if disconnect is not None and disconnect.slow:
            try:
                self._quic.reset_stream(stream_id, code)
            except Exception as e:  # the stream may be gone already
                log.debug("webtransport: stream %d not reset: %s", stream_id, e)
            self.close_capsule(session_id, code, reason)
        else:
            self.send_stream(stream_id, b"", end=True)
            self._loop.call_later(CLOSE_DELAY, self.close_capsule, session_id, code, reason)
        if session is not None and session.task is not None:
            session.task.cancel()

    def close_capsule(self, session_id: int, code: int, reason: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            session.stop_accept_timer()
        if self._h3 is not None:
            try:
                self._h3.send_data(session_id, close_capsule(code, reason), end_stream=True)
                self.transmit()
            except Exception:
                log.debug("session close capsule failed", exc_info=True)
        if session is not None and session.task is not None:
            session.task.cancel()
        if not self.sessions:  # nothing else on this connection: let the peer go
            self._loop.call_later(CLOSE_DELAY, self.close)

    def _end(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        session.stop_accept_timer()
        if session.task is not None:
            session.task.cancel()
        if session.client is not None:
            session.client.on_transport_closed()


class WebTransportHandler:
    """Accepts sessions and feeds their command streams to client sessions."""

    def __init__(
        self,
        node: Node,
        *,
        origins: OriginChecker,
        limiter: ConnectionLimiter,
        options: WebTransportOptions,
    ) -> None:
        self.node = node
        self.origins = origins
        self.limiter = limiter
        self.options = options

    def open_session(
        self, conn: Http3Protocol, stream_id: int, fields: list[tuple[bytes, bytes]]
    ) -> None:
        headers = dict(fields)
        raw_path = headers.get(b":path", b"").decode(errors="replace")
        path, _, query = raw_path.partition("?")
        if (
            not self.options.path
            or headers.get(b":method") != b"CONNECT"
            or headers.get(b":protocol") != b"webtransport"
            or path.rstrip("/") != self.options.path.rstrip("/")
        ):
            conn.respond(stream_id, 404, end=True)
            return
        origin = headers.get(b"origin", b"").decode(errors="replace")
        if not self.origins.allowed(origin):
            conn.respond(stream_id, 403, end=True)
            return
        params = parse_qs(query)
        if params.get("cf_protocol_version", ["v2"])[0] != "v2":
            conn.respond(stream_id, 400, end=True)
            return
        if self.node.shutting_down or not self.limiter.allow():
            conn.respond(stream_id, 503, end=True)
            return
        binary = params.get("cf_protocol", [""])[0] == "protobuf"
        plain = joined_headers(
            (k.decode(errors="replace"), v.decode(errors="replace"))
            for k, v in fields
            if not k.startswith(b":")
        )
        session = Session(stream_id, protobuf_codec() if binary else JSON, plain)
        conn.sessions[stream_id] = session
        conn.respond(stream_id, 200, end=False)

        def no_stream() -> None:
            if conn.sessions.get(stream_id) is session and session.stream_id is None:
                conn.close_capsule(stream_id, 0, "")

        session.accept_timer = self.node.timers.schedule(ACCEPT_TIMEOUT, no_stream)

    def stream_data(
        self, conn: Http3Protocol, session: Session, stream_id: int, data: bytes, ended: bool
    ) -> None:
        if session.stream_id is None:
            if stream_id % 4 != 0:  # only a client-initiated bidirectional stream
                conn.stop(stream_id)
                return
            session.stream_id = stream_id
            session.stop_accept_timer()
            transport = WebTransportStream(
                conn, session.id, stream_id, session.codec, self.options.write_timeout
            )
            session.client = ClientSession(self.node, transport, headers=session.headers)
            session.task = asyncio.get_running_loop().create_task(self._pump(conn, session))
        elif stream_id != session.stream_id:
            conn.stop(stream_id)  # one command stream per session
            return
        session.buf += data
        session.ended |= ended
        session.wake.set()

    async def _pump(self, conn: Http3Protocol, session: Session) -> None:
        """Hand complete commands to the client session, in order (one task per session)."""
        client = session.client
        assert client is not None
        split: Callable[[bytearray, int], bytes | None] = (
            split_protobuf if session.codec.binary else split_json
        )
        limit = self.options.message_size_limit
        try:
            while not client.closed:
                await session.wake.wait()
                session.wake.clear()
                while True:
                    try:
                        frame = split(session.buf, limit)
                    except ProtocolError as e:
                        log.info("client %s: %s", client.id, e)
                        client.disconnect(DISCONNECT_BAD_REQUEST)
                        return
                    if frame is None:
                        break
                    if not await client.handle_data(frame):
                        return
                if session.ended:  # no more commands will come: the client went away
                    client.on_transport_closed()
                    return
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("webtransport session failed")
            client.disconnect(DISCONNECT_BAD_REQUEST)


def quic_configuration(cert_file: str, key_file: str) -> QuicConfiguration:
    config = QuicConfiguration(
        is_client=False, alpn_protocols=H3_ALPN, max_datagram_frame_size=65536
    )
    config.load_cert_chain(cert_file, key_file)
    return config


async def serve_webtransport(
    handler: WebTransportHandler, host: str, port: int, configuration: QuicConfiguration
) -> QuicServer:
    """Start the HTTP/3 listener (UDP ``host:port``)."""

    def create(*args: Any, **kwargs: Any) -> Http3Protocol:
        proto = Http3Protocol(*args, **kwargs)
        proto.handler = handler
        return proto

    return await serve(host, port, configuration=configuration, create_protocol=create)
