#!/usr/bin/env python3
"""aioquic WebTransport load generator for ``bench/transports_bench.py`` (one JSON line out).

N sessions (one QUIC connection each) open ``/connection/webtransport``, send connect and
subscribe on one bidirectional stream and wait for the subscribe reply; then K publications
go through ``POST /api`` (HTTPS, one request in flight, ``--burst`` commands per body) and
every ``{"push":`` line received is a delivery.  Same measurement as ``loadgen.py fanout``:
server CPU (``/proc/<pid>/stat``) over the window from the first request to the last
delivery.

    .venv/bin/python bench/wt_loadgen.py --port 8443 --api-key KEY --token JWT --pid PID
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import time
from typing import Any

import orjson
from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent, StreamDataReceived
from loadgen import Stats, cpu_seconds, publish_body


class WtClient(QuicConnectionProtocol):
    stats: Stats
    hello: bytes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic, enable_webtransport=True)
        self.session_id = -1
        self.stream_id = -1
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed = False

    def open(self, authority: str) -> None:
        self.session_id = self._quic.get_next_available_stream_id()
        self.h3.send_headers(
            self.session_id,
            [
                (b":method", b"CONNECT"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", b"/connection/webtransport"),
                (b":protocol", b"webtransport"),
            ],
        )
        self.transmit()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived) and event.stream_id == self.stream_id:
            self._data(event.data)  # the server writes our stream without HTTP/3 framing
            return
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived) and ev.stream_id == self.session_id:
                self.stream_id = self.h3.create_webtransport_stream(self.session_id)
                self._quic.send_stream_data(self.stream_id, self.hello)
                self.transmit()

    def _data(self, data: bytes) -> None:
        if self.subscribed:
            st = self.stats
            st.frames += 1
            st.msgs += data.count(b'{"push":')
            if st.msgs >= st.target:
                st.t_last = time.perf_counter()
                if st.done is not None and not st.done.done():
                    st.done.set_result(None)
            return
        for line in data.split(b"\n"):
            if line and orjson.loads(line).get("id") == 2:
                self.subscribed = True
                if not self.ready.done():
                    self.ready.set_result(None)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    stats = Stats()
    hello = (
        orjson.dumps({"id": 1, "connect": {"token": args.token}})
        + b"\n"
        + orjson.dumps({"id": 2, "subscribe": {"channel": args.channel}})
        + b"\n"
    )
    config = QuicConfiguration(
        is_client=True, alpn_protocols=H3_ALPN, max_datagram_frame_size=65536
    )
    config.verify_mode = ssl.CERT_NONE
    stack = []
    clients: list[WtClient] = []

    def create(*a: Any, **kw: Any) -> WtClient:
        c = WtClient(*a, **kw)
        c.stats = stats
        c.hello = hello
        return c

    t0 = time.perf_counter()
    for _ in range(args.n):
        cm = connect("127.0.0.1", args.port, configuration=config, create_protocol=create)
        proto = await cm.__aenter__()
        stack.append(cm)
        assert isinstance(proto, WtClient)
        proto.open(f"127.0.0.1:{args.port}")
        clients.append(proto)
    await asyncio.wait_for(asyncio.gather(*(c.ready for c in clients)), args.timeout)
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(args.settle)
    headers = {"Authorization": f"apikey {args.api_key}"}
    requests = -(-args.k // args.burst)
    total = requests * args.burst
    bodies = [publish_body(args.channel, args.burst, i * args.burst) for i in range(requests)]
    stats.done = asyncio.get_running_loop().create_future()
    stats.target = stats.msgs + total * args.n
    base_msgs, base_frames = stats.msgs, stats.frames
    lost = 0
    api = f"https://127.0.0.1:{args.port}/api"
    connector = aiohttp.TCPConnector(limit=1, ssl=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(api, data=publish_body("warm", 1, 0), headers=headers) as r:
            await r.read()
        srv0, cli0 = cpu_seconds(args.pid), time.process_time()
        t_start = time.perf_counter()
        for body in bodies:
            async with session.post(api, data=body, headers=headers) as r:
                await r.read()
        try:
            await asyncio.wait_for(stats.done, args.timeout)
        except TimeoutError:
            stats.t_last = time.perf_counter()
            lost = stats.target - stats.msgs
        srv1, cli1 = cpu_seconds(args.pid), time.process_time()
    wall = stats.t_last - t_start
    deliveries = stats.msgs - base_msgs
    srv_cpu, cli_cpu = srv1 - srv0, cli1 - cli0
    return {
        "n": args.n,
        "publications": total,
        "deliveries": deliveries,
        "expected": total * args.n,
        "lost": lost,
        "frames": stats.frames - base_frames,
        "wall_s": round(wall, 4),
        "server_cpu_s": round(srv_cpu, 3),
        "client_cpu_s": round(cli_cpu, 3),
        "client_util": round(cli_cpu / wall, 3) if wall > 0 else 0.0,
        "server_util": round(srv_cpu / wall, 3) if wall > 0 else 0.0,
        "deliveries_per_s": round(deliveries / wall) if wall > 0 else 0,
        "deliveries_per_server_cpu_s": round(deliveries / srv_cpu) if srv_cpu > 0 else 0,
        "connect_s": round(connect_s, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--channel", default="bench")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--burst", type=int, default=1)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    import uvloop

    uvloop.install()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
