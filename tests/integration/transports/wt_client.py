"""A WebTransport client on aioquic (HTTP/3 extended CONNECT + one bidirectional stream),
and a throwaway self-signed certificate for the server."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.buffer import Buffer
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamDataReceived

from tests.tls_cert import write_self_signed

TIMEOUT = 5.0


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """An ECDSA P-256 certificate for 127.0.0.1/localhost (cert path, key path)."""
    cert, key, _ = write_self_signed(tmp / "tls")
    return cert, key


class _Protocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic, enable_webtransport=True)
        self.events: asyncio.Queue[H3Event | QuicEvent] = asyncio.Queue()
        self.wt_streams: dict[int, int] = {}  # our bidirectional streams -> session id

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.events.put_nowait(event)
        if isinstance(event, StreamDataReceived) and event.stream_id in self.wt_streams:
            # the server answers on our stream without a header, which aioquic's H3 layer
            # would parse as HTTP/3 frames: hand the bytes over as they are
            self.events.put_nowait(
                WebTransportStreamDataReceived(
                    data=event.data,
                    stream_id=event.stream_id,
                    stream_ended=event.end_stream,
                    session_id=self.wt_streams[event.stream_id],
                )
            )
            return
        for ev in self.h3.handle_event(event):
            self.events.put_nowait(ev)


class WtSession:
    """One WebTransport session; ``status`` is the CONNECT response status."""

    def __init__(self, proto: _Protocol, session_id: int) -> None:
        self.proto = proto
        self.session_id = session_id
        self.status = 0
        self.stream_id: int | None = None
        self.data = bytearray()  # received on the bidirectional stream
        self.stream_ended = False
        self.capsules = bytearray()  # received on the CONNECT stream
        self.session_ended = False

    async def _pump(self, until: Any) -> None:
        async def run() -> None:
            while not until():
                ev = await self.proto.events.get()
                if isinstance(ev, HeadersReceived) and ev.stream_id == self.session_id:
                    self.status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, WebTransportStreamDataReceived):
                    self.data += ev.data
                    self.stream_ended |= ev.stream_ended
                elif isinstance(ev, DataReceived) and ev.stream_id == self.session_id:
                    self.capsules += ev.data
                    self.session_ended |= ev.stream_ended
                elif isinstance(ev, ConnectionTerminated):
                    self.session_ended = True

        await asyncio.wait_for(run(), TIMEOUT)

    def open_stream(self) -> None:
        self.stream_id = self.proto.h3.create_webtransport_stream(self.session_id)
        self.proto.wt_streams[self.stream_id] = self.session_id

    def send(self, data: bytes) -> None:
        assert self.stream_id is not None
        self.proto._quic.send_stream_data(self.stream_id, data)
        self.proto.transmit()

    async def read_line(self) -> bytes:
        """The next JSON line that is not a server ping (``{}``)."""
        while True:
            await self._pump(lambda: b"\n" in self.data or self.session_ended)
            i = self.data.index(b"\n")
            line = bytes(self.data[:i])
            del self.data[: i + 1]
            if line != b"{}":
                return line

    async def read_varint_message(self) -> bytes:
        """The next varint-delimited message that is not a server ping (empty)."""
        from service.protocol.varint import decode_varint

        def complete() -> bool:
            if not self.data:
                return False
            try:
                n, pos = decode_varint(bytes(self.data), 0)
            except Exception:
                return False
            return len(self.data) >= pos + n

        while True:
            await self._pump(lambda: complete() or self.session_ended)
            n, pos = decode_varint(bytes(self.data), 0)
            msg = bytes(self.data[pos : pos + n])
            del self.data[: pos + n]
            if msg:
                return msg

    async def close_code(self) -> tuple[int, str]:
        """The CLOSE_WEBTRANSPORT_SESSION capsule the server sent: (code, reason)."""
        await self._pump(lambda: self.session_ended)
        buf = Buffer(data=bytes(self.capsules))
        ctype = buf.pull_uint_var()
        length = buf.pull_uint_var()
        body = buf.pull_bytes(length)
        assert ctype == 0x2843, ctype
        return int.from_bytes(body[:4], "big"), body[4:].decode()


@contextlib.asynccontextmanager
async def wt_connect(
    port: int, path: str, *, origin: str = "", headers: tuple[tuple[bytes, bytes], ...] = ()
) -> AsyncIterator[WtSession]:
    """``headers``: extra header fields of the CONNECT request, sent in this order."""
    config = QuicConfiguration(
        is_client=True, alpn_protocols=H3_ALPN, max_datagram_frame_size=65536
    )
    config.verify_mode = ssl.CERT_NONE
    async with connect("127.0.0.1", port, configuration=config, create_protocol=_Protocol) as proto:
        assert isinstance(proto, _Protocol)
        sid = proto._quic.get_next_available_stream_id()
        fields = [
            (b":method", b"CONNECT"),
            (b":scheme", b"https"),
            (b":authority", f"127.0.0.1:{port}".encode()),
            (b":path", path.encode()),
            (b":protocol", b"webtransport"),
            (b"sec-webtransport-http3-draft02", b"1"),
        ]
        if origin:
            fields.append((b"origin", origin.encode()))
        proto.h3.send_headers(sid, [*fields, *headers])
        proto.transmit()
        session = WtSession(proto, sid)
        await session._pump(lambda: session.status != 0)
        yield session
