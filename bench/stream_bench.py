#!/usr/bin/env python3
"""SSE and HTTP-streaming fan-out of gyre against an aiohttp ``StreamResponse.write`` floor
(docs/performance.md#method).

One channel, N subscribers, K publications fired as fast as possible inside the server:

* **gyre**: ``/connection/sse`` (``cf_connect``) or ``/connection/http_stream`` (POST) with a
  connection token whose ``channels`` claim subscribes the connection server-side; the
  publications go through ``Node.publish`` (memory engine), i.e. the hub encodes once and the
  writers flush once per loop tick;
* **floor**: a bare aiohttp server keeping N prepared ``StreamResponse`` objects and doing
  ``await resp.write(frame)`` for every (publication, subscriber) with the same frame shape
  (``data: <json>\\n\\n`` for SSE, ``<json>\\n`` for HTTP-streaming).

Both servers run in their own process (uvloop, ``gc.freeze()``), pinned to CPU 0 when there
are two CPUs; this process is the load generator on CPU 1: N raw asyncio protocol clients
counting records.  Rounds alternate gyre, floor, gyre, floor...; the first round is a
warm-up and is discarded.  Reported per run: deliveries/s (wall, from the fire request to the
last record counted) and deliveries per server CPU-second (``/proc/<pid>/stat``).  Output:
JSON lines, then a markdown table with the median and min-max of gyre/floor.

Loopback only; every wait is bounded; the whole run stops at ``--max-seconds``.

    .venv/bin/python bench/stream_bench.py            # N=1000, K=300, 6 rounds
    .venv/bin/python bench/stream_bench.py --quick    # N=200, K=50, 3 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
SECRET = "stream-bench-secret-0123456789abcdef"
CHANNEL = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAYLOAD_PAD = "x" * 60  # ~100-byte JSON payloads


# --- servers (run as subprocesses) ----------------------------------------------------------


def _payload(i: int) -> bytes:
    return json.dumps({"ts": time.monotonic_ns(), "i": i, "pad": PAYLOAD_PAD}).encode()


async def _serve_gyre(port_file: str) -> None:
    from aiohttp import web

    from service.app import start_server
    from service.config import load_config
    from service.core.engine import Publication, PublishOptions
    from service.transports.http_routes import ClientTransportOptions, client_routes
    from service.transports.limits import ConnectionLimiter
    from service.transports.origin import OriginChecker

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "config.json"
        path.write_text(
            json.dumps(
                {
                    "token_hmac_secret_key": SECRET,
                    "address": "127.0.0.1",
                    "port": 0,
                    "log_level": "error",
                    "ping_interval": "600s",
                    "pong_timeout": "500s",
                    "client_queue_max_size": 64 * 1024 * 1024,
                    "client_stale_close_delay": "600s",
                }
            )
        )
        cfg, _ = load_config(str(path), env={})
    server = await start_server(cfg)
    node = server.node
    limiter = ConnectionLimiter(limit=0, rate=0, count=lambda: 0)
    opts = ClientTransportOptions(http_stream=True, sse=True)
    app = web.Application()
    for method, route, handler in client_routes(node, opts, limiter, OriginChecker(())):
        app.router.add_route(method, route, handler)  # type: ignore[arg-type]
    publish_opts = PublishOptions()

    async def fire(request: web.Request) -> web.Response:
        k = int(request.query["k"])
        tick = request.query.get("mode") == "tick"
        for i in range(k):
            await node.publish(CHANNEL, [Publication(_payload(i))], publish_opts)
            if tick:
                await asyncio.sleep(0)  # let the writers flush: one write per delivery
        return web.Response(text="ok")

    async def clients(request: web.Request) -> web.Response:
        return web.Response(text=str(len(node.hub.channels.get(CHANNEL, {}))))

    app.router.add_post("/bench/fire", fire)
    app.router.add_get("/bench/clients", clients)
    await _run_app(app, port_file)


async def _serve_floor(port_file: str) -> None:
    from aiohttp import web

    subs: dict[str, list[web.StreamResponse]] = {"sse": [], "stream": []}

    async def stream(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        resp = web.StreamResponse(status=200)
        resp.content_type = "text/event-stream" if kind == "sse" else "text/plain"
        await resp.prepare(request)
        await resp.write(b"\r\n")
        subs[kind].append(resp)
        done = asyncio.Event()  # held open until the process ends
        try:
            await done.wait()
        finally:
            subs[kind].remove(resp)
        return resp

    async def fire(request: web.Request) -> web.Response:
        k = int(request.query["k"])
        kind = request.query["kind"]
        tick = request.query.get("mode") == "tick"
        for i in range(k):
            push = b'{"push":{"channel":"bench","pub":{"data":' + _payload(i) + b"}}}"
            frame = b"data: " + push + b"\n\n" if kind == "sse" else push + b"\n"
            for resp in list(subs[kind]):
                try:
                    await resp.write(frame)
                except ConnectionError:
                    pass
            if tick:
                await asyncio.sleep(0)
        return web.Response(text="ok")

    async def clients(request: web.Request) -> web.Response:
        return web.Response(text=str(sum(len(v) for v in subs.values())))

    app = web.Application()
    app.router.add_get("/floor/{kind}", stream)
    app.router.add_post("/bench/fire", fire)
    app.router.add_get("/bench/clients", clients)
    await _run_app(app, port_file)


async def _run_app(app: Any, port_file: str) -> None:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    Path(port_file).write_text(str(runner.addresses[0][1]))
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    os._exit(0)  # no graceful drain of N open streams


# --- load generator -----------------------------------------------------------------------


class Counter(asyncio.Protocol):
    """Counts occurrences of ``marker`` in a raw HTTP response (split-safe)."""

    __slots__ = ("count", "marker", "tail", "transport")

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.count = 0
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.tail + data
        self.count += buf.count(self.marker)
        self.tail = buf[-(len(self.marker) - 1) :]


def _token() -> str:
    import jwt

    return jwt.encode({"sub": "bench", "channels": [CHANNEL]}, SECRET, algorithm="HS256")


def _request(impl: str, kind: str, port: int) -> bytes:
    host = f"Host: 127.0.0.1:{port}\r\n"
    if impl == "floor":
        return f"GET /floor/{'sse' if kind == 'sse' else 'stream'} HTTP/1.1\r\n{host}\r\n".encode()
    connect = json.dumps({"id": 1, "connect": {"token": _token()}})
    if kind == "sse":
        q = urlencode({"cf_connect": connect})
        return f"GET /connection/sse?{q} HTTP/1.1\r\n{host}\r\n".encode()
    body = connect.encode()
    head = f"POST /connection/http_stream HTTP/1.1\r\n{host}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _marker(kind: str) -> bytes:
    return b'"pub":'  # one per publication record in every variant


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Server:
    def __init__(self, impl: str, pin: bool) -> None:
        self.impl = impl
        self.dir = tempfile.TemporaryDirectory()
        port_file = Path(self.dir.name) / "port"
        env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'generated'}")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, f"--serve-{impl}", str(port_file)],
            cwd=REPO,
            env=env,
            preexec_fn=(lambda: os.sched_setaffinity(0, {0})) if pin else None,
        )
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{impl} server did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    async def http(self, method: str, path: str) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            f"Connection: close\r\n\r\n".encode()
        )
        data = await asyncio.wait_for(reader.read(), 120)
        writer.close()
        return data.split(b"\r\n\r\n", 1)[1].decode()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.dir.cleanup()


async def _connect_all(server: Server, kind: str, n: int) -> list[Counter]:
    loop = asyncio.get_running_loop()
    req = _request(server.impl, kind, server.port)
    counters: list[Counter] = []
    for start in range(0, n, 100):
        batch = []
        for _ in range(min(100, n - start)):
            batch.append(
                loop.create_connection(lambda: Counter(_marker(kind)), "127.0.0.1", server.port)
            )
        for _, proto in await asyncio.gather(*batch):
            assert proto.transport is not None
            proto.transport.write(req)
            counters.append(proto)
    deadline = time.monotonic() + 60
    while int(await server.http("GET", "/bench/clients")) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("clients did not all connect")
        await asyncio.sleep(0.05)
    return counters


async def _round(
    server: Server, kind: str, mode: str, counters: list[Counter], k: int
) -> dict[str, Any]:
    for c in counters:
        c.count = 0
    want = len(counters) * k
    cpu0 = _cpu(server.proc.pid)
    t0 = time.perf_counter()
    q = f"k={k}&mode={mode}&kind={'sse' if kind == 'sse' else 'stream'}"
    fire = asyncio.ensure_future(server.http("POST", f"/bench/fire?{q}"))
    deadline = t0 + 120
    while sum(c.count for c in counters) < want:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{server.impl}/{kind}: only {sum(c.count for c in counters)}")
        await asyncio.sleep(0.002)
    t1 = time.perf_counter()
    await fire
    cpu = max(_cpu(server.proc.pid) - cpu0, 1.0 / CLK_TCK)
    return {
        "impl": server.impl,
        "kind": kind,
        "mode": mode,
        "n": len(counters),
        "k": k,
        "deliveries": want,
        "seconds": round(t1 - t0, 4),
        "per_s": round(want / (t1 - t0)),
        "server_cpu_s": round(cpu, 3),
        "per_cpu_s": round(want / cpu),
    }


async def _bench(args: argparse.Namespace) -> int:
    pin = (os.cpu_count() or 1) >= 2
    if pin:
        os.sched_setaffinity(0, {1})
    started = time.monotonic()
    summary: list[dict[str, Any]] = []
    for kind in args.kinds:
        servers = {impl: Server(impl, pin) for impl in ("gyre", "floor")}
        counters: dict[str, list[Counter]] = {}
        try:
            counters = {impl: await _connect_all(s, kind, args.n) for impl, s in servers.items()}
            for mode in args.modes:
                s = await _scenario(args, servers, counters, kind, mode, started)
                if s is not None:
                    summary.append(s)
        finally:
            for cs in counters.values():
                for c in cs:
                    if c.transport is not None:
                        c.transport.close()
            for srv in servers.values():
                srv.stop()
    print()
    print(
        "| transport | mode | N | K | gyre/floor deliveries/s (median, min-max) "
        "| per server CPU-s | gyre deliveries/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in summary:
        print(
            f"| {s['kind']} | {s['mode']} | {s['n']} | {s['k']} | {s['wall_ratio_median']} "
            f"({s['wall_ratio_min']}-{s['wall_ratio_max']}) | {s['cpu_ratio_median']} "
            f"({s['cpu_ratio_min']}-{s['cpu_ratio_max']}) | {s['gyre_per_s_median']} |"
        )
    return 0


async def _scenario(
    args: argparse.Namespace,
    servers: dict[str, Server],
    counters: dict[str, list[Counter]],
    kind: str,
    mode: str,
    started: float,
) -> dict[str, Any] | None:
    ratios_wall: list[float] = []
    ratios_cpu: list[float] = []
    gyre_rates: list[float] = []
    for rnd in range(args.rounds):
        res = {}
        for impl in ("gyre", "floor"):
            r = await _round(servers[impl], kind, mode, counters[impl], args.k)
            r["round"] = rnd
            r["warmup"] = rnd == 0
            print(json.dumps(r), flush=True)
            res[impl] = r
        if rnd > 0:
            gyre_rates.append(res["gyre"]["per_s"])
            ratios_wall.append(res["gyre"]["per_s"] / res["floor"]["per_s"])
            ratios_cpu.append(res["gyre"]["per_cpu_s"] / res["floor"]["per_cpu_s"])
        if time.monotonic() - started > args.max_seconds:
            print(json.dumps({"stopped": "max-seconds"}), flush=True)
            break
    if not ratios_wall:
        return None
    s = {
        "kind": kind,
        "mode": mode,
        "n": args.n,
        "k": args.k,
        "rounds": len(ratios_wall),
        "gyre_per_s_median": round(statistics.median(gyre_rates)),
        "wall_ratio_median": round(statistics.median(ratios_wall), 3),
        "wall_ratio_min": round(min(ratios_wall), 3),
        "wall_ratio_max": round(max(ratios_wall), 3),
        "cpu_ratio_median": round(statistics.median(ratios_cpu), 3),
        "cpu_ratio_min": round(min(ratios_cpu), 3),
        "cpu_ratio_max": round(max(ratios_cpu), 3),
    }
    print(json.dumps(s), flush=True)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--serve-gyre", metavar="PORT_FILE")
    ap.add_argument("--serve-floor", metavar="PORT_FILE")
    ap.add_argument("--quick", action="store_true", help="N=200, K=50, 3 rounds")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--k", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--kinds", nargs="+", default=["sse", "http_stream"])
    ap.add_argument(
        "--modes",
        nargs="+",
        default=["tick", "burst"],
        help="tick: the publisher yields after each publication (one write per delivery);\n"
        "burst: K publications back to back (gyre coalesces them per connection)",
    )
    ap.add_argument("--max-seconds", type=float, default=540)
    args = ap.parse_args()
    import uvloop

    if args.serve_gyre:
        uvloop.run(_serve_gyre(args.serve_gyre))
        return 0
    if args.serve_floor:
        uvloop.run(_serve_floor(args.serve_floor))
        return 0
    if args.quick:
        args.n, args.k, args.rounds = 200, 50, 3
    return uvloop.run(_bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
