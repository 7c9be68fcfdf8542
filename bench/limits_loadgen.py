#!/usr/bin/env python3
"""picows load generator for ``bench/limits_bench.py`` (one run per process, JSON out).

Clients speak the Centrifugo v4 JSON client protocol over ``/connection/websocket``: one frame
with ``connect`` (an HS256 token of their own user) and their ``subscribe`` commands, done at
the last subscribe reply; after that they count ``{"push":`` replies and answer ``{}`` pings
with ``{}``.  The server under test is observed through ``/proc/<pid>`` (same box).

* ``storm``: ``--n`` clients (user ``u<i>``, channel ``<prefix><i>``), at most ``--window``
  connecting at once (default: all).  Window: from the first TCP connect to the last
  subscribe reply.  Reported: connects per server CPU-second, connects/s, p50/p99 latency
  (TCP connect to subscribe reply), the failures by kind (``refused``: TCP refused or reset;
  ``http_<status>``: the upgrade was answered with an error, e.g. 503 from
  ``client_connection_rate_limit``; ``timeout``; ``error``: an error reply) and this process's
  CPU (client-bound at >= 90 % of a core).
* ``channels``: ``--n`` clients, each on its own channel ``<prefix><i>``; then ``--passes``
  passes over all channels through ``POST /api``, one request in flight, ``--per-body``
  deliveries per request: ``publish`` (that many publish commands to distinct channels) and
  ``broadcast`` (one ``broadcast`` command to that many channels).  Per phase: deliveries per
  server CPU-second, deliveries/s, client CPU.
* ``hold``: ``--n`` clients with ``--subs`` subscriptions each (``<prefix><i>`` and shared
  channels ``g<k>`` of a pool of ``--pool``), spread over the source addresses
  ``127.0.0.<2..1+--sources>``; prints one JSON line once all are subscribed, then keeps them
  (answering pings) until stdin closes or says anything, and prints a last line with the
  pings received.  ``bench/limits_bench.py scale`` runs several of these at once.

    .venv/bin/python bench/limits_loadgen.py storm --url ws://127.0.0.1:8000/connection/websocket \\
        --secret S --pid PID --n 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

import orjson
from loadgen import cpu_seconds, post_ok
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

PUSH_HEAD = b'{"push":'


def tokens(secret: str, n: int) -> list[str]:
    """HS256 connection tokens of users ``u0``..``u<n-1>`` (gyre's own generator)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from service.auth import generate_token

    return [generate_token(secret=secret, user=f"u{i}", ttl=24 * 3600) for i in range(n)]


def hello(token: str, channels: list[str]) -> bytes:
    cmds = [orjson.dumps({"id": 1, "connect": {"token": token}})]
    cmds += [
        orjson.dumps({"id": 2 + j, "subscribe": {"channel": c}}) for j, c in enumerate(channels)
    ]
    return b"\n".join(cmds)


class Counters:
    __slots__ = ("done", "msgs", "pings", "target")

    def __init__(self) -> None:
        self.msgs = 0
        self.pings = 0
        self.target = 1 << 62
        self.done: asyncio.Future[None] | None = None


class Client(WSListener):
    """Connects, subscribes (``ready`` resolves at the last subscribe reply), then counts."""

    def __init__(self, c: Counters, hello: bytes, subs: int, ready: asyncio.Future[None]) -> None:
        self.c = c
        self.hello = hello
        self.waiting = subs  # subscribe replies still to come
        self.ready = ready

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.TEXT, self.hello)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.disconnect()
            return
        data = frame.get_payload_as_bytes()
        c = self.c
        if not self.waiting:
            pushes = data.count(PUSH_HEAD)
            if pushes != data.count(b"\n") + 1:  # a ping among them (or alone)
                for line in data.split(b"\n"):
                    if line == b"{}":
                        c.pings += 1
                        transport.send(WSMsgType.TEXT, b"{}")
            if pushes:
                c.msgs += pushes
                if c.msgs >= c.target and c.done is not None and not c.done.done():
                    c.done.set_result(None)
            return
        for line in data.split(b"\n"):
            if line == b"{}":
                c.pings += 1
                transport.send(WSMsgType.TEXT, b"{}")
                continue
            reply = orjson.loads(line)
            if "error" in reply:
                if not self.ready.done():
                    self.ready.set_exception(RuntimeError(f"error reply: {reply}"))
                return
            if "subscribe" in reply:
                self.waiting -= 1
                if not self.waiting and not self.ready.done():
                    self.ready.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionResetError("closed before subscribed"))


def failure_kind(e: BaseException) -> str:
    if isinstance(e, WSError):
        status = getattr(getattr(e, "response", None), "status", None)
        return f"http_{int(status)}" if status is not None else "ws_error"
    if isinstance(e, (ConnectionRefusedError, ConnectionResetError)):
        return "refused"
    if isinstance(e, (TimeoutError, asyncio.TimeoutError)):
        return "timeout"
    if isinstance(e, RuntimeError):
        return "error"
    return type(e).__name__


async def connect_all(
    url: str,
    hellos: list[bytes],
    subs: int,
    c: Counters,
    window: int,
    timeout: float,
    sources: list[str] | None = None,
) -> tuple[list[WSTransport], list[float], dict[str, int]]:
    """Connect one client per hello (at most ``window`` at once); their transports, the
    latencies of those that subscribed and the failures by kind."""
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(window)
    transports: list[WSTransport] = []
    latencies: list[float] = []
    failures: dict[str, int] = {}

    async def one(i: int, hi: bytes) -> None:
        async with sem:
            ready: asyncio.Future[None] = loop.create_future()
            extra: dict[str, Any] = {}
            if sources:
                extra["local_addr"] = (sources[i % len(sources)], 0)
            t0 = time.perf_counter()
            try:
                transport, _ = await ws_connect(
                    lambda: Client(c, hi, subs, ready),
                    url,
                    websocket_handshake_timeout=timeout,
                    **extra,
                )
                transports.append(transport)
                await asyncio.wait_for(ready, timeout)
            except Exception as e:
                kind = failure_kind(e)
                failures[kind] = failures.get(kind, 0) + 1
                return
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(one(i, h) for i, h in enumerate(hellos)))
    return transports, latencies, failures


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 2)


async def run_storm(args: argparse.Namespace) -> dict[str, Any]:
    toks = tokens(args.secret, args.n)
    hellos = [hello(t, [f"{args.prefix}{i}"]) for i, t in enumerate(toks)]
    c = Counters()
    srv0, cli0 = cpu_seconds(args.pid), time.process_time()
    t0 = time.perf_counter()
    transports, lat, failures = await connect_all(
        args.url, hellos, 1, c, args.window or args.n, args.timeout
    )
    wall = time.perf_counter() - t0
    srv, cli = cpu_seconds(args.pid) - srv0, time.process_time() - cli0
    for t in transports:
        t.disconnect(graceful=False)
    lat.sort()
    ok = len(lat)
    return {
        "n": args.n,
        "window": args.window or args.n,
        "connected": ok,
        "failures": failures,
        "wall_s": round(wall, 3),
        "server_cpu_s": round(srv, 3),
        "client_cpu_s": round(cli, 3),
        "client_util": round(cli / wall, 3) if wall > 0 else 0.0,
        "server_util": round(srv / wall, 3) if wall > 0 else 0.0,
        "connects_per_s": round(ok / wall) if wall > 0 else 0,
        "connects_per_server_cpu_s": round(ok / srv) if srv > 0 else 0,
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
    }


def publish_line(channel: str, seq: int) -> bytes:
    data = {"ts": time.monotonic_ns(), "i": seq, "pad": "x" * 64}
    return orjson.dumps({"method": "publish", "params": {"channel": channel, "data": data}})


def broadcast_line(channels: list[str], seq: int) -> bytes:
    data = {"ts": time.monotonic_ns(), "i": seq, "pad": "x" * 64}
    return orjson.dumps({"method": "broadcast", "params": {"channels": channels, "data": data}})


async def run_channels(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    toks = tokens(args.secret, args.n)
    names = [f"{args.prefix}{i}" for i in range(args.n)]
    hellos = [hello(t, [names[i]]) for i, t in enumerate(toks)]
    c = Counters()
    transports, _lat, failures = await connect_all(
        args.url, hellos, 1, c, args.concurrency, args.timeout
    )
    if failures:
        raise SystemExit(f"clients failed to subscribe: {failures}")
    await asyncio.sleep(args.settle)
    headers = {"Authorization": f"apikey {args.api_key}", "Content-Type": "application/json"}
    per = args.per_body
    groups = [names[i : i + per] for i in range(0, len(names), per)]
    out: dict[str, Any] = {"n": args.n, "passes": args.passes, "per_body": per}
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        async with session.post(
            args.api, data=publish_line("warmup", 0), headers=headers
        ) as r:  # opens the keep-alive connection outside the window
            await r.read()
        for phase in ("publish", "broadcast"):
            if phase == "publish":
                bodies = [b"\n".join(publish_line(ch, 0) for ch in g) for g in groups]
            else:
                bodies = [broadcast_line(g, 0) for g in groups]
            c.done = loop.create_future()
            base = c.msgs
            c.target = base + args.passes * args.n
            errors = lost = 0
            srv0, cli0 = cpu_seconds(args.pid), time.process_time()
            t0 = time.perf_counter()
            for _ in range(args.passes):
                for body in bodies:
                    if not await post_ok(session, args.api, body, headers):
                        errors += 1
            try:
                await asyncio.wait_for(c.done, args.timeout)
            except TimeoutError:
                lost = c.target - c.msgs
            wall = time.perf_counter() - t0
            srv, cli = cpu_seconds(args.pid) - srv0, time.process_time() - cli0
            got = c.msgs - base
            out[phase] = {
                "deliveries": got,
                "lost": lost,
                "api_errors": errors,
                "requests": args.passes * len(bodies),
                "wall_s": round(wall, 3),
                "server_cpu_s": round(srv, 3),
                "client_cpu_s": round(cli, 3),
                "client_util": round(cli / wall, 3) if wall > 0 else 0.0,
                "server_util": round(srv / wall, 3) if wall > 0 else 0.0,
                "deliveries_per_s": round(got / wall) if wall > 0 else 0,
                "deliveries_per_server_cpu_s": round(got / srv) if srv > 0 else 0,
            }
    for t in transports:
        t.disconnect(graceful=False)
    return out


async def run_hold(args: argparse.Namespace) -> dict[str, Any]:
    toks = tokens(args.secret, args.n)
    base = args.offset
    hellos = []
    for i, t in enumerate(toks):
        k = base + i
        chans = [f"{args.prefix}{k}"] + [
            f"g{(k * (args.subs - 1) + j) % args.pool}" for j in range(args.subs - 1)
        ]
        hellos.append(hello(t, chans))
    sources = [f"127.0.0.{2 + j}" for j in range(args.sources)] if args.sources else None
    c = Counters()
    cli0 = time.process_time()
    t0 = time.perf_counter()
    _transports, lat, failures = await connect_all(
        args.url, hellos, args.subs, c, args.concurrency, args.timeout, sources
    )
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "connected": len(lat),
                "failures": failures,
                "connect_s": round(wall, 3),
                "client_cpu_s": round(time.process_time() - cli0, 3),
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # the orchestrator says when
    return {"pings": c.pings, "client_cpu_s": round(time.process_time() - cli0, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("storm", "channels", "hold"))
    ap.add_argument("--url", required=True)
    ap.add_argument("--api", default="")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--secret", required=True, help="token_hmac_secret_key")
    ap.add_argument("--pid", type=int, default=0, help="server PID observed in /proc")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--window", type=int, default=0, help="storm: connecting at once (0: all)")
    ap.add_argument("--concurrency", type=int, default=500)
    ap.add_argument("--prefix", default="s")
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--per-body", type=int, default=100)
    ap.add_argument("--subs", type=int, default=5)
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--offset", type=int, default=0, help="hold: first client number")
    ap.add_argument("--sources", type=int, default=0, help="hold: 127.0.0.x source addresses")
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.n + 64 > hard:
        sys.exit(f"need {args.n + 64} file descriptors, hard limit is {hard}")
    import uvloop

    uvloop.install()
    fn = {"storm": run_storm, "channels": run_channels, "hold": run_hold}[args.mode]
    result = asyncio.run(fn(args))
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip the teardown of thousands of sockets


if __name__ == "__main__":
    main()
