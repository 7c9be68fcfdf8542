#!/usr/bin/env python3
"""WebTransport floor peer for ``bench/transports_bench.py``: aioquic writing a pre-encoded
frame to each stream.

HTTP/3 on UDP (aioquic, WebTransport enabled) accepts sessions at
``/connection/webtransport`` and their first bidirectional stream, answering newline-delimited
connect/subscribe commands with the canned replies of ``raw_floor.py``; ``POST /api`` (HTTPS,
aiohttp, same certificate) takes the same v4 publish bodies.  Floor definition: per
publication the push is encoded once with its trailing newline, then for every subscriber
``send_stream_data(stream, frame)`` and ``transmit()`` (publications of one body into one
channel coalesced as in ``raw_floor.py``; ``bench/transports_bench.py`` sends one per body).

    .venv/bin/python bench/peers/wt_floor.py --port 8443 --api-key KEY --cert C --key K
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
from typing import Any

from aiohttp import web
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import serve as quic_serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent
from raw_floor import Floor, serve


class Sink:
    """What ``Floor.api`` writes to: one subscriber's stream."""

    __slots__ = ("proto", "stream_id")

    def __init__(self, proto: FloorProtocol, stream_id: int) -> None:
        self.proto = proto
        self.stream_id = stream_id

    def write(self, frame: bytes) -> None:
        self.proto._quic.send_stream_data(self.stream_id, frame)
        self.proto.transmit()


class WtFloor(Floor):
    def frame(self, push: bytes) -> bytes:
        return push + b"\n"


class FloorProtocol(QuicConnectionProtocol):
    floor: WtFloor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3: H3Connection | None = None
        self.joined: list[str] = []

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self.h3 = H3Connection(self._quic, enable_webtransport=True)
        if self.h3 is None:
            return
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                self.h3.send_headers(
                    ev.stream_id,
                    [(b":status", b"200"), (b"sec-webtransport-http3-draft", b"draft02")],
                )
                self.transmit()
            elif isinstance(ev, WebTransportStreamDataReceived) and ev.data:
                sink = Sink(self, ev.stream_id)
                out = self.floor.replies(ev.data, id(self), sink, self.joined)  # type: ignore[arg-type]
                if out:
                    sink.write(b"\n".join(out) + b"\n")


async def main(args: argparse.Namespace) -> None:
    floor = WtFloor(args.api_key)
    config = QuicConfiguration(
        is_client=False, alpn_protocols=H3_ALPN, max_datagram_frame_size=65536
    )
    config.load_cert_chain(args.cert, args.key)

    def create(*a: Any, **kw: Any) -> FloorProtocol:
        proto = FloorProtocol(*a, **kw)
        proto.floor = floor
        return proto

    await quic_serve(args.host, args.port, configuration=config, create_protocol=create)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    app = web.Application()
    app.router.add_post("/api", floor.api)
    await serve(app, args.host, args.port, tls)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    import uvloop

    uvloop.install()
    asyncio.run(main(ap.parse_args()))
