#!/usr/bin/env python3
"""Connect storm through the HTTP connect and subscribe proxies, against the same storm with
JWT tokens (the floor, in the same run and the same server process).

* **gyre**: one process pinned to CPU 0 (uvloop, ``gc.freeze()``), configured with
  ``proxy_connect_endpoint`` and ``proxy_subscribe_endpoint`` on the backend, namespace
  ``px`` (``proxy_subscribe``) and namespace ``open`` (``allow_subscribe_for_client``);
* **backend**: a minimal aiohttp application on CPU 1 answering a fixed result to
  ``/connect`` and ``/subscribe``; it counts the TCP connections it accepts and the calls in
  flight;
* **load generator** (this process, CPU 1 with the backend): N picows WebSocket clients, at
  most ``--window`` connecting at once; each sends ``connect`` and ``subscribe`` in one frame
  and is done at the subscribe reply (its connect latency: TCP connect to that reply).

A round is one storm of each kind, alternating: **proxy** (no token: the connect proxy
authenticates, the subscribe proxy allows ``px:<i>``) and **jwt** (an HS256 token, channel
``open:<i>``, no backend call).  The first round is a warm-up.  Per storm: connects per
server CPU-second (``/proc/<pid>/stat``), connects/s (wall), p50/p99 latency, the load
generator's CPU, and for proxy storms the backend's TCP connections against the peak number
of proxy calls in flight inside gyre (counted around ``HttpTransport.call``; target: at most
one connection per 8 concurrent calls).  By default all N clients start at once (a storm);
``--window`` bounds how many connect at the same time.  Output: JSON lines, then a markdown
table with medians (min-max) over the rounds.

The cyclic garbage collector is on, as in production; ``PROXY_BENCH_NO_GC=1`` turns it off
in the gyre process to show what the storm costs without it (docs/proxy.md#9-speed).

    .venv/bin/python bench/proxy_bench.py            # N=2000, 5 rounds (+1 warm-up)
    .venv/bin/python bench/proxy_bench.py --quick    # N=500, 2 rounds
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

REPO = Path(__file__).resolve().parents[1]
SECRET = "proxy-bench-secret-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- servers (subprocesses) -----------------------------------------------------------------


async def _serve_gyre(port_file: str, backend: str, pool: int) -> None:
    from aiohttp import web

    from service.app import start_server
    from service.config import load_config
    from service.proxy import http as proxy_http

    inflight = {"now": 0, "peak": 0}
    call = proxy_http.HttpTransport.call

    async def counted(self: Any, *args: Any) -> Any:  # measurement only: calls in flight
        inflight["now"] += 1
        inflight["peak"] = max(inflight["peak"], inflight["now"])
        try:
            return await call(self, *args)
        finally:
            inflight["now"] -= 1

    proxy_http.HttpTransport.call = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "config.json"
        path.write_text(
            json.dumps(
                {
                    "token_hmac_secret_key": SECRET,
                    "address": "127.0.0.1",
                    "port": 0,
                    "log_level": "error",
                    "proxy_connect_endpoint": f"{backend}/connect",
                    "proxy_subscribe_endpoint": f"{backend}/subscribe",
                    "proxy_connect_timeout": "10s",
                    "proxy_subscribe_timeout": "10s",
                    "proxy_http_pool_size": pool,
                    "namespaces": [
                        {"name": "px", "proxy_subscribe": True},
                        {"name": "open", "allow_subscribe_for_client": True},
                    ],
                }
            )
        )
        cfg, _ = load_config(str(path), env={})
    server = await start_server(cfg)
    node = server.node
    if os.environ.get("PROXY_BENCH_NO_GC"):  # diagnostics: what the cyclic GC costs
        gc.disable()
    if os.environ.get("PROXY_BENCH_PROFILE"):  # diagnostics: cProfile of the gyre process
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()

        def dump() -> None:
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(40)

        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)

    async def stats(request: web.Request) -> web.Response:
        body = {
            "clients": len(node.hub.conns),
            "peak_inflight": inflight["peak"],
            "objects": len(gc.get_objects()),  # objects the cyclic GC scans
        }
        if request.method == "POST":
            inflight["peak"] = 0
        return web.json_response(body)

    app = web.Application()
    app.router.add_route("*", "/bench/stats", stats)
    port = await _run_app(app)
    Path(port_file).write_text(json.dumps({"ws": server.ports["external"], "stats": port}))
    await _forever()


async def _serve_backend(port_file: str) -> None:
    from aiohttp import web

    connect = b'{"result":{"user":"bench","info":{"plan":"free"}}}'
    subscribe = b'{"result":{}}'
    state = {"inflight": 0, "peak": 0, "calls": 0}
    peers: set[Any] = set()

    async def handle(request: web.Request) -> web.Response:
        state["calls"] += 1
        state["inflight"] += 1
        state["peak"] = max(state["peak"], state["inflight"])
        peers.add(request.transport)
        await request.read()
        state["inflight"] -= 1
        body = connect if request.path == "/connect" else subscribe
        return web.Response(body=body, content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        body = {"connections": len(peers), "peak_inflight": state["peak"], "calls": state["calls"]}
        if request.method == "POST":
            peers.clear()
            state["peak"] = state["calls"] = 0
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/connect", handle)
    app.router.add_post("/subscribe", handle)
    app.router.add_route("*", "/bench/stats", stats)
    port = await _run_app(app)
    Path(port_file).write_text(json.dumps({"http": port}))
    await _forever()


async def _run_app(app: Any) -> int:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    return int(runner.addresses[0][1])


async def _forever() -> None:
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    os._exit(0)


class Proc:
    def __init__(self, args: list[str], cpu: int | None) -> None:
        self.dir = tempfile.TemporaryDirectory()
        port_file = Path(self.dir.name) / "ports"
        env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'generated'}")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *args, str(port_file)],
            cwd=REPO,
            env=env,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start")
            time.sleep(0.05)
        self.ports: dict[str, int] = json.loads(port_file.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.dir.cleanup()


# --- load generator -------------------------------------------------------------------------


async def _stats(port: int, reset: bool = False) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    method = "POST" if reset else "GET"
    writer.write(
        f"{method} /bench/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    result: dict[str, Any] = json.loads(data.split(b"\r\n\r\n", 1)[1])
    return result


async def _storm(kind: str, n: int, window: int, ws_port: int) -> tuple[list[Any], list[float]]:
    import jwt
    import orjson
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    url = f"ws://127.0.0.1:{ws_port}/connection/websocket"
    token = jwt.encode({"sub": "bench"}, SECRET, algorithm="HS256")
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    transports: list[Any] = []
    sem = asyncio.Semaphore(window)

    class Client(WSListener):  # type: ignore[misc]
        def __init__(self, hello: bytes, done: asyncio.Future[None]) -> None:
            self.hello = hello
            self.done = done

        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(WSMsgType.TEXT, self.hello)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            for line in frame.get_payload_as_bytes().split(b"\n"):
                if line == b"{}":  # a server ping: pong
                    transport.send(WSMsgType.TEXT, b"{}")
                    continue
                if self.done.done():
                    continue
                reply = orjson.loads(line)
                if reply.get("id") == 2:
                    if "subscribe" in reply:
                        self.done.set_result(None)
                    else:
                        self.done.set_exception(RuntimeError(f"subscribe: {reply}"))
                elif "error" in reply:
                    self.done.set_exception(RuntimeError(f"connect: {reply}"))

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            if not self.done.done():
                self.done.set_exception(ConnectionError("closed before the subscribe reply"))

    async def one(i: int) -> None:
        connect = {} if kind == "proxy" else {"token": token}
        channel = f"px:c{i}" if kind == "proxy" else f"open:c{i}"
        hello = (
            orjson.dumps({"id": 1, "connect": connect})
            + b"\n"
            + orjson.dumps({"id": 2, "subscribe": {"channel": channel}})
        )
        async with sem:
            done: asyncio.Future[None] = loop.create_future()
            t0 = time.perf_counter()
            transport, _ = await ws_connect(
                lambda: Client(hello, done), url, websocket_handshake_timeout=120
            )
            transports.append(transport)
            await done
            latencies.append(time.perf_counter() - t0)

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 120)
    return transports, latencies


async def _round(kind: str, args: argparse.Namespace, gyre: Proc, backend: Proc) -> dict[str, Any]:
    await _stats(gyre.ports["stats"], reset=True)
    await _stats(backend.ports["http"], reset=True)
    cpu0 = _cpu(gyre.proc.pid)
    me0 = time.process_time()
    t0 = time.perf_counter()
    transports, lat = await _storm(kind, args.n, args.window, gyre.ports["ws"])
    wall = time.perf_counter() - t0
    cpu = max(_cpu(gyre.proc.pid) - cpu0, 1.0 / CLK_TCK)
    loadgen = time.process_time() - me0
    gstats = await _stats(gyre.ports["stats"])
    bstats = await _stats(backend.ports["http"])
    for t in transports:
        t.disconnect()
    deadline = time.monotonic() + 60
    while (await _stats(gyre.ports["stats"]))["clients"]:
        if time.monotonic() > deadline:
            raise RuntimeError("clients did not all leave")
        await asyncio.sleep(0.05)
    lat.sort()
    out = {
        "kind": kind,
        "n": args.n,
        "window": args.window,
        "wall_s": round(wall, 3),
        "connects_per_s": round(args.n / wall),
        "server_cpu_s": round(cpu, 3),
        "connects_per_cpu_s": round(args.n / cpu),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
        "loadgen_cpu_s": round(loadgen, 3),
        "gc_objects_after": gstats["objects"],
    }
    if kind == "proxy":
        out.update(
            backend_calls=bstats["calls"],
            backend_connections=bstats["connections"],
            gyre_peak_inflight_calls=gstats["peak_inflight"],
            backend_peak_inflight=bstats["peak_inflight"],
            calls_per_connection=round(gstats["peak_inflight"] / max(bstats["connections"], 1), 1),
        )
    return out


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):g} ({min(values):g}-{max(values):g})"


async def _bench(args: argparse.Namespace) -> int:
    pin = (os.cpu_count() or 1) >= 2
    if pin:
        os.sched_setaffinity(0, {1})
    backend = Proc(["--serve-backend"], 1 if pin else None)
    gyre = Proc(
        ["--serve-gyre", f"http://127.0.0.1:{backend.ports['http']}", str(args.pool)],
        0 if pin else None,
    )
    results: dict[str, list[dict[str, Any]]] = {"proxy": [], "jwt": []}
    try:
        for rnd in range(args.rounds + 1):
            for kind in ("proxy", "jwt"):
                r = await _round(kind, args, gyre, backend)
                r["round"] = rnd
                r["warmup"] = rnd == 0
                print(json.dumps(r), flush=True)
                if rnd:
                    results[kind].append(r)
    finally:
        gyre.stop()
        backend.stop()
    px, jw = results["proxy"], results["jwt"]
    ratios = [
        p["connects_per_cpu_s"] / j["connects_per_cpu_s"] for p, j in zip(px, jw, strict=True)
    ]
    per_conn = [p["calls_per_connection"] for p in px]
    summary = {
        "ratio_per_cpu_s": _med([round(r, 3) for r in ratios]),
        "proxy_per_cpu_s": _med([p["connects_per_cpu_s"] for p in px]),
        "jwt_per_cpu_s": _med([j["connects_per_cpu_s"] for j in jw]),
        "proxy_p99_ms": _med([p["p99_ms"] for p in px]),
        "jwt_p99_ms": _med([j["p99_ms"] for j in jw]),
        "backend_connections": _med([p["backend_connections"] for p in px]),
        "gyre_peak_inflight_calls": _med([p["gyre_peak_inflight_calls"] for p in px]),
        "calls_per_connection": _med(per_conn),
        "pooling_ok": all(c >= 8 for c in per_conn),
        "target_met": statistics.median(ratios) >= 0.6,
    }
    print(json.dumps(summary), flush=True)
    print()
    print(
        f"| storm (N={args.n}, window {args.window}) | connects per server CPU-s | connects/s "
        "| p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|")
    for kind, rs in results.items():
        print(
            f"| {kind} | {_med([r['connects_per_cpu_s'] for r in rs])} "
            f"| {_med([r['connects_per_s'] for r in rs])} | {_med([r['p50_ms'] for r in rs])} "
            f"| {_med([r['p99_ms'] for r in rs])} |"
        )
    print(f"\nproxy/jwt per server CPU-s: {summary['ratio_per_cpu_s']} (target >= 0.6)")
    print(
        f"backend TCP connections {summary['backend_connections']} for a peak of "
        f"{summary['gyre_peak_inflight_calls']} proxy calls in flight: "
        f"{summary['calls_per_connection']} calls per connection (target >= 8)"
    )
    return 0 if summary["target_met"] and summary["pooling_ok"] else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--serve-gyre", nargs=3, metavar=("BACKEND", "POOL", "PORT_FILE"))
    ap.add_argument("--serve-backend", metavar="PORT_FILE")
    ap.add_argument("--quick", action="store_true", help="N=500, 2 rounds")
    ap.add_argument("--n", type=int, default=2000, help="clients per storm")
    ap.add_argument(
        "--window", type=int, default=0, help="clients connecting at once (0: all of them)"
    )
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds (after a warm-up)")
    ap.add_argument("--pool", type=int, default=64, help="proxy_http_pool_size")
    args = ap.parse_args()
    import uvloop

    if args.serve_gyre:
        backend, pool, port_file = args.serve_gyre
        uvloop.run(_serve_gyre(port_file, backend, int(pool)))
        return 0
    if args.serve_backend:
        uvloop.run(_serve_backend(args.serve_backend))
        return 0
    if args.quick:
        args.n, args.rounds = 500, 2
    args.window = args.window or args.n
    return uvloop.run(_bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
