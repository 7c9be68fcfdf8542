#!/usr/bin/env python3
"""picows load generator for ``bench/fanout.py`` (one run per process, one JSON line out).

It speaks the Centrifugo v4 JSON client protocol over ``/connection/websocket``: every client
sends ``connect`` and ``subscribe`` in one frame and waits for the subscribe reply; after that a
text frame is counted as its number of ``{"push":`` replies (replies are newline-delimited,
several per frame when the server coalesces) and a ``{}`` ping is answered with ``{}``.
The server under test is observed through ``/proc/<pid>`` (same box).

``fanout``: N subscribers, then K publications through ``POST /api``, ``--burst`` publish
commands per request body, one request in flight (the next request leaves when the previous
reply arrived).  The measured window runs from the first request to the last counted
delivery (or ``--timeout``); reported: deliveries, frames, server and client CPU seconds
(``/proc/<pid>/stat`` utime+stime, ``time.process_time``).

``--sockjs``: the same over a SockJS websocket session (``/connection/sockjs/0/<id>/websocket``):
commands go out as one SockJS message, replies arrive inside ``a[...]`` frames (pushes are
counted as their escaped ``{\\"push\\":`` heads).  ``--deflate``: offer permessage-deflate
and inflate compressed frames before counting.

``latency``: N subscribers, then publications paced at ``--rate`` request bodies per second
(``--burst`` publish commands each, ``--k`` publications in all); each publication carries
``ts``, this process's ``time.monotonic_ns()`` when its body left (the clock is the same for
every process of the box).  Every ``--sample``-th client parses the ``ts`` of each push it
gets: latency = arrival - ts.  Reported: p50/p90/p99/max over the sampled deliveries, the
paced rate achieved, server and client CPU.

``idle``: W warm-up clients, read the server's VmRSS, N more clients, wait ``--settle``
seconds, read VmRSS again: ``(after - before) / N`` is the RSS per idle connection.

    .venv/bin/python bench/loadgen.py fanout --url ws://127.0.0.1:8000/connection/websocket \\
        --api http://127.0.0.1:8000/api --api-key KEY --token JWT --pid PID --n 1000 --k 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import zlib
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAD = "x" * 64  # publication data is ~100 bytes of JSON


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads", "RssAnon"):
                out[key] = int(value.split()[0])
    return out


def slab_kb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    return 0


class Stats:
    __slots__ = ("compressed", "done", "frames", "lat", "msgs", "t_last", "target")

    def __init__(self) -> None:
        self.lat: list[int] = []  # ns from a publication's ts to its arrival (sampled clients)
        self.compressed = 0  # frames that arrived with RSV1 (permessage-deflate)
        self.msgs = 0
        self.frames = 0
        self.target = 1 << 62
        self.t_last = 0.0
        self.done: asyncio.Future[None] | None = None


SOCKJS = False  # --sockjs
PUSH_HEAD = b'{"push":'


class Client(WSListener):
    """One subscriber; counts publications once subscribed."""

    def __init__(
        self, stats: Stats, hello: bytes, ready: asyncio.Future[None], sample: bool = False
    ) -> None:
        self.stats = stats
        self.hello = hello
        self.ready = ready
        self.subscribed = False
        self.sample = sample  # record each push's latency from its "ts"
        self.inflate: Any = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        if not SOCKJS:
            transport.send(WSMsgType.TEXT, self.hello)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.disconnect()
            return
        data = frame.get_payload_as_bytes()
        if frame.rsv1:  # permessage-deflate (--deflate)
            self.stats.compressed += 1
            if self.inflate is None:
                self.inflate = zlib.decompressobj(-15)
            data = self.inflate.decompress(data + b"\x00\x00\xff\xff")
        if SOCKJS:
            if data == b"o":
                transport.send(WSMsgType.TEXT, orjson.dumps([self.hello.decode()]))
                return
            if not data.startswith(b"a"):
                return
            if not self.subscribed:
                data = "\n".join(orjson.loads(data[1:])).encode()
        if self.subscribed:
            pushes = data.count(PUSH_HEAD)
            if pushes != data.count(b"\n") + 1:  # something else in the frame: a ping?
                for line in data.split(b"\n"):
                    if line == b"{}":
                        transport.send(WSMsgType.TEXT, b'["{}"]' if SOCKJS else b"{}")
                if not pushes:
                    return
            st = self.stats
            if self.sample:
                now = time.monotonic_ns()
                pos = data.find(b'"ts":')
                while pos >= 0:
                    end = data.find(b",", pos)
                    st.lat.append(now - int(data[pos + 5 : end]))
                    pos = data.find(b'"ts":', end)
            st.frames += 1
            st.msgs += pushes
            if st.msgs >= st.target:
                st.t_last = time.perf_counter()
                if st.done is not None and not st.done.done():
                    st.done.set_result(None)
            return
        for line in data.split(b"\n"):
            reply = orjson.loads(line)
            if reply.get("id") == 2:
                if "subscribe" in reply:
                    self.subscribed = True
                    if not self.ready.done():
                        self.ready.set_result(None)
                elif not self.ready.done():
                    self.ready.set_exception(RuntimeError(f"subscribe failed: {reply}"))
            elif "error" in reply and not self.ready.done():
                self.ready.set_exception(RuntimeError(f"connect failed: {reply}"))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("disconnected before subscribe"))


async def connect_many(
    url: str,
    token: str,
    channel: str,
    n: int,
    stats: Stats,
    concurrency: int,
    timeout: float,
    headers: dict[str, str] | None = None,
    sample_every: int = 0,
) -> list[WSTransport]:
    hello = (
        orjson.dumps({"id": 1, "connect": {"token": token}})
        + b"\n"
        + orjson.dumps({"id": 2, "subscribe": {"channel": channel}})
    )
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    transports: list[WSTransport] = []

    counter = iter(range(1 << 30))

    async def one() -> None:
        async with sem:
            ready: asyncio.Future[None] = loop.create_future()
            i = next(counter)
            target = url.replace("{session}", f"s{i}")  # SockJS session ids
            sample = sample_every > 0 and i % sample_every == 0
            transport, _ = await ws_connect(
                lambda: Client(stats, hello, ready, sample),
                target,
                enable_auto_pong=True,
                extra_headers=headers,
            )
            transports.append(transport)
            await ready

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout)
    return transports


async def post_ok(session: Any, url: str, body: bytes, headers: dict[str, str]) -> bool:
    """POST one server-API body (an ``aiohttp.ClientSession``); True when the status is 200
    and no reply in it carries an error."""
    async with session.post(url, data=body, headers=headers) as r:
        reply = await r.read()
        return r.status == 200 and b'"error"' not in reply


def publish_body(channel: str, burst: int, seq: int) -> bytes:
    lines = []
    for j in range(burst):
        data = {"ts": time.monotonic_ns(), "i": seq + j, "pad": PAD}
        lines.append(
            orjson.dumps({"method": "publish", "params": {"channel": channel, "data": data}})
        )
    return b"\n".join(lines)


async def run_fanout(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    stats = Stats()
    t0 = time.perf_counter()
    headers = {"Sec-WebSocket-Extensions": "permessage-deflate"} if args.deflate else None
    transports = await connect_many(
        args.url, args.token, args.channel, args.n, stats, args.concurrency, args.timeout, headers
    )
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(args.settle)
    headers = {"Authorization": f"apikey {args.api_key}", "Content-Type": "application/json"}
    requests = -(-args.k // args.burst)
    total_pubs = requests * args.burst
    bodies = [publish_body(args.channel, args.burst, i * args.burst) for i in range(requests)]
    loop = asyncio.get_running_loop()
    stats.done = loop.create_future()
    stats.target = stats.msgs + total_pubs * args.n
    base_msgs, base_frames = stats.msgs, stats.frames
    errors = 0
    lost = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        # one untimed request: opens the keep-alive HTTP connection outside the window
        warm = publish_body(args.channel + "-warmup", 1, 0)
        async with session.post(args.api, data=warm, headers=headers) as r:
            await r.read()
        srv0, cli0 = cpu_seconds(args.pid), time.process_time()
        t_start = time.perf_counter()
        for body in bodies:
            if not await post_ok(session, args.api, body, headers):
                errors += 1
        t_sent = time.perf_counter()
        try:
            await asyncio.wait_for(stats.done, args.timeout)
        except TimeoutError:
            stats.t_last = time.perf_counter()
            lost = stats.target - stats.msgs
        srv1, cli1 = cpu_seconds(args.pid), time.process_time()
    wall = stats.t_last - t_start
    deliveries = stats.msgs - base_msgs
    frames = stats.frames - base_frames
    srv_cpu = srv1 - srv0
    cli_cpu = cli1 - cli0
    for t in transports:
        t.disconnect(graceful=False)
    return {
        "n": args.n,
        "publications": total_pubs,
        "burst": args.burst,
        "requests": requests,
        "deliveries": deliveries,
        "expected": total_pubs * args.n,
        "lost": lost,
        "api_errors": errors,
        "frames": frames,
        "compressed_frames": stats.compressed,
        "msgs_per_frame": round(deliveries / frames, 3) if frames else 0.0,
        "wall_s": round(wall, 4),
        "publish_s": round(t_sent - t_start, 4),
        "server_cpu_s": round(srv_cpu, 3),
        "client_cpu_s": round(cli_cpu, 3),
        "client_util": round(cli_cpu / wall, 3) if wall > 0 else 0.0,
        "server_util": round(srv_cpu / wall, 3) if wall > 0 else 0.0,
        "deliveries_per_s": round(deliveries / wall) if wall > 0 else 0,
        "deliveries_per_server_cpu_s": round(deliveries / srv_cpu) if srv_cpu > 0 else 0,
        "connect_s": round(connect_s, 3),
        "server_rss_kb": proc_status(args.pid).get("VmRSS", 0),
    }


def percentile(values: list[int], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` in milliseconds (nearest rank)."""
    if not values:
        return 0.0
    return round(values[min(len(values) - 1, int(len(values) * q))] / 1e6, 3)


async def run_latency(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    stats = Stats()
    transports = await connect_many(
        args.url,
        args.token,
        args.channel,
        args.n,
        stats,
        args.concurrency,
        args.timeout,
        sample_every=args.sample,
    )
    await asyncio.sleep(args.settle)
    headers = {"Authorization": f"apikey {args.api_key}", "Content-Type": "application/json"}
    requests = -(-args.k // args.burst)
    total_pubs = requests * args.burst
    loop = asyncio.get_running_loop()
    stats.done = loop.create_future()
    stats.target = stats.msgs + total_pubs * args.n
    base_msgs = stats.msgs
    period = 1.0 / args.rate
    errors = lost = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        warm = publish_body(args.channel + "-warmup", 1, 0)
        async with session.post(args.api, data=warm, headers=headers) as r:
            await r.read()
        stats.lat.clear()
        srv0, cli0 = cpu_seconds(args.pid), time.process_time()
        t_start = time.perf_counter()
        for i in range(requests):  # paced: body i leaves at t_start + i * period
            delay = t_start + i * period - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = publish_body(args.channel, args.burst, i * args.burst)
            if not await post_ok(session, args.api, body, headers):
                errors += 1
        t_sent = time.perf_counter()
        try:
            await asyncio.wait_for(stats.done, args.timeout)
        except TimeoutError:
            stats.t_last = time.perf_counter()
            lost = stats.target - stats.msgs
        srv1, cli1 = cpu_seconds(args.pid), time.process_time()
    wall = stats.t_last - t_start
    for t in transports:
        t.disconnect(graceful=False)
    lat = sorted(stats.lat)
    return {
        "n": args.n,
        "publications": total_pubs,
        "burst": args.burst,
        "rate": args.rate,
        "rate_achieved": round(requests / (t_sent - t_start), 2) if t_sent > t_start else 0.0,
        "deliveries": stats.msgs - base_msgs,
        "lost": lost,
        "api_errors": errors,
        "samples": len(lat),
        "p50_ms": percentile(lat, 0.5),
        "p90_ms": percentile(lat, 0.9),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": percentile(lat, 1.0),
        "wall_s": round(wall, 4),
        "server_cpu_s": round(srv1 - srv0, 3),
        "client_cpu_s": round(cli1 - cli0, 3),
        "client_util": round((cli1 - cli0) / wall, 3) if wall > 0 else 0.0,
        "server_util": round((srv1 - srv0) / wall, 3) if wall > 0 else 0.0,
    }


async def run_idle(args: argparse.Namespace) -> dict[str, Any]:
    stats = Stats()
    st0 = proc_status(args.pid)
    warm = await connect_many(
        args.url, args.token, args.channel, args.warm, stats, args.concurrency, args.timeout
    )
    await asyncio.sleep(args.settle)
    st1, slab1 = proc_status(args.pid), slab_kb()
    t0 = time.perf_counter()
    conns = await connect_many(
        args.url, args.token, args.channel, args.n, stats, args.concurrency, args.timeout
    )
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(args.settle)
    srv0 = cpu_seconds(args.pid)
    await asyncio.sleep(1.0)
    idle_cpu = cpu_seconds(args.pid) - srv0
    st2, slab2 = proc_status(args.pid), slab_kb()
    for t in warm + conns:
        t.disconnect(graceful=False)
    return {
        "n": args.n,
        "warm": args.warm,
        "rss_start_kb": st0.get("VmRSS", 0),
        "rss_before_kb": st1.get("VmRSS", 0),
        "rss_after_kb": st2.get("VmRSS", 0),
        "rss_per_conn_kb": round((st2["VmRSS"] - st1["VmRSS"]) / args.n, 2),
        "slab_per_conn_pair_kb": round((slab2 - slab1) / args.n, 2),
        "server_threads": st2.get("Threads", 0),
        "connect_s": round(connect_s, 3),
        "connects_per_s": round(args.n / connect_s) if connect_s > 0 else 0,
        "idle_server_cpu_1s": round(idle_cpu, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("fanout", "latency", "idle"))
    ap.add_argument("--url", required=True)
    ap.add_argument("--api", default="")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--token", default="")
    ap.add_argument("--channel", default="bench")
    ap.add_argument("--pid", type=int, required=True, help="server PID observed in /proc")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--k", type=int, default=300)
    ap.add_argument("--burst", type=int, default=1)
    ap.add_argument("--warm", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--sockjs", action="store_true", help="SockJS websocket sessions")
    ap.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    ap.add_argument("--pad", type=int, default=64, help="bytes of padding per publication")
    ap.add_argument("--rate", type=float, default=50.0, help="latency: request bodies per s")
    ap.add_argument("--sample", type=int, default=10, help="latency: every n-th client measures")
    args = ap.parse_args()
    global SOCKJS, PUSH_HEAD, PAD
    SOCKJS = args.sockjs
    PUSH_HEAD = b'{\\"push\\":' if SOCKJS else b'{"push":'
    PAD = "x" * args.pad
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = args.n + args.warm + 64
    if need > hard:
        sys.exit(f"need {need} file descriptors, hard limit is {hard}")
    import uvloop

    uvloop.install()
    fn = {"fanout": run_fanout, "latency": run_latency, "idle": run_idle}[args.mode]
    result = asyncio.run(fn(args))
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip the teardown of thousands of sockets


if __name__ == "__main__":
    main()
