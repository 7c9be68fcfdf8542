#!/usr/bin/env python3
"""Soak benchmark: does a Gyre process stay flat under hours of connection churn?

Not a CI test: it runs for minutes (10 by default) and reports figures. See docs/soak.md.

Processes (loopback only, started and stopped by PID, every wait bounded):

* ``redis-server`` (``--engine redis``) on a free port, with an append-only file so that a
  graceful restart keeps history; ``--redis-restart`` stops it (SIGTERM) half-way through
  the run and starts it again ``--redis-down`` seconds later;
* the server under test, ``bench/soak_server.py`` (Gyre's composition root on uvloop, as
  ``gyre serve`` runs it) pinned to CPU 0, every client transport and the gRPC listeners
  on, Prometheus metrics on; it reports RSS, open fds, asyncio tasks, the timer wheel and
  every node registry every ``--interval`` seconds (and on demand);
* this process, the load generator, pinned to CPU 1 (``bench/soak_clients.py``):

  - ``--steady`` WebSocket clients on ``--channels`` channels (namespace ``soak``: history,
    recovery, presence), each checking every publication's offset;
  - ``--pub-rate`` server API publications per second, round-robin over the channels;
  - ``--churn-rate`` short-lived clients per second, round-robin over ``--transports``
    (all eight by default), each connecting with a day-long token, subscribing (day-long
    subscription token, or the connection token's channels for the unidirectional ones),
    receiving one publication, staying 0.5-2.5 s, then ending: 80 % by going away, 10 % by
    a server API disconnect, 10 % (bidirectional) by a protocol error.

Reported: RSS, fds, tasks, timer-wheel size and live sessions at the start and end of the
churn; their slopes (least squares) over the second half of the run; loss (offsets a steady
client never got, of what the channel's history holds at the end), duplicates, gaps,
resubscribes and reconnects of the steady clients; the churn per transport; and, after the
churn stopped, every registry compared with its size before the churn started ("nothing
left behind": fds, asyncio tasks, live sessions, timer wheel, hub maps, presence, broker
subscriptions, and on Redis the PUB/SUB channels and presence hashes).  Targets: RSS slope
< 1 MB/min, fds and tasks flat (slope within ``FLAT_FRACTION`` of their level per minute,
and back to their level before the churn), nothing lost or duplicated, nothing left
behind.

    .venv/bin/python bench/soak.py                        # memory engine, 10 min
    .venv/bin/python bench/soak.py --engine redis --redis-restart
    .venv/bin/python bench/soak.py --quick                # 2 min smoke run, small numbers
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "generated"), str(REPO / "bench")]

import aiohttp  # noqa: E402
from soak_clients import TRANSPORTS, Churner, Steady, Target  # noqa: E402

from tests.redis_fixtures import sync_command  # noqa: E402

SECRET = "soak-bench-secret-0123456789abcdef"
API_KEY = "soak-bench-api-key"
RSS_SLOPE_TARGET = 1.0  # MB per minute
# fds and tasks go up and down with the short-lived clients under way (about churn rate x
# 3 s of them); a slope within 0.5 % of the level per minute counts as flat, and after the
# churn both must be back exactly where they were before it ("left behind")
FLAT_FRACTION = 0.005
PAD = "x" * 64
HISTORY_SIZE = 100  # per channel: covers a Redis restart (about 10 s) at 1 publication/s


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mx) * (v - my) for t, v in points)
    return cov / var * 60.0


# --- redis ----------------------------------------------------------------------------------


class Redis:
    """A redis-server with an append-only file in a temp dir; ``restart`` keeps the port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not installed (run scripts/ensure_redis.sh)")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        argv += ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.command("PING") == b"PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Graceful stop (SIGTERM: the append-only file is flushed), then reap."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def command(self, *args: Any) -> Any:
        return sync_command(self.port, *args)

    def census(self) -> dict[str, int]:
        """PUB/SUB channels of client channels, and presence entries held."""
        channels = self.command("PUBSUB", "CHANNELS", "centrifugo.client.*")
        keys = self.command("KEYS", "centrifugo.presence.data.*")
        entries = sum(int(self.command("HLEN", k)) for k in keys)
        return {"redis.pubsub_channels": len(channels), "redis.presence_entries": entries}


# --- server under test ----------------------------------------------------------------------


def server_config(
    args: argparse.Namespace, ports: dict[str, int], redis: Redis | None
) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "token_hmac_secret_key": SECRET,
        "api_key": API_KEY,
        "address": "127.0.0.1",
        "port": ports["http"],
        "log_level": "error",
        "prometheus": True,
        "http_stream": True,
        "sse": True,
        "uni_websocket": True,
        "uni_sse": True,
        "uni_http_stream": True,
        "uni_grpc": True,
        "uni_grpc_address": "127.0.0.1",
        "uni_grpc_port": ports["uni_grpc"],
        "grpc_stream": True,
        "grpc_stream_address": "127.0.0.1",
        "grpc_stream_port": ports["grpc_stream"],
        "namespaces": [
            {
                "name": "soak",
                "allow_subscribe_for_client": True,
                "presence": True,
                # full after 100 s at the default rates, so that history (kept in the
                # process by the memory engine) does not grow through the measured half
                "history_size": HISTORY_SIZE,
                "history_ttl": "300s",
                "force_recovery": True,
            }
        ],
    }
    if redis is not None:
        cfg.update(engine="redis", redis_address=[f"redis://127.0.0.1:{redis.port}"])
    return cfg


class ServerProcess:
    """``bench/soak_server.py`` as a child; its JSON lines arrive on ``samples``."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.samples: list[dict[str, Any]] = []
        self.on_demand: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ports: dict[str, int] = {}
        self.t0 = 0.0  # samples are stamped with this process's clock, seconds since t0
        self._reader: asyncio.Task[None] | None = None

    async def start(
        self, config: Path, interval: float, cpu: int | None, root: Path | None
    ) -> None:
        cmd = [sys.executable, str(REPO / "bench" / "soak_server.py"), "--config", str(config)]
        cmd += ["--interval", str(interval)]
        if root is not None:
            cmd += ["--root", str(root)]
        if cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO
        )
        assert self.proc.stdout is not None
        first = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not first:
            raise RuntimeError("soak_server exited at start")
        self.ports = json.loads(first)["ports"]
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            s = json.loads(line)
            s["at"] = round(time.monotonic() - self.t0, 1)
            if s.pop("on_demand", False):
                self.on_demand.put_nowait(s)
            else:
                self.samples.append(s)

    async def sample_now(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self.on_demand.get(), 60)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


# --- load -----------------------------------------------------------------------------------


async def paced(
    rate: float,
    stop: asyncio.Event,
    start: Callable[[int], Coroutine[Any, Any, None] | None],
    drain: float,
) -> None:
    """Call ``start(i)`` ``rate`` times a second (i = 0, 1, ...) until ``stop``, running each
    coroutine it returns (None: skip this tick) as a task; then wait up to ``drain`` seconds
    for the tasks still running."""
    tasks: set[asyncio.Task[None]] = set()
    if rate <= 0:
        return
    i = 0
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += 1.0 / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        coro = start(i)
        i += 1
        if coro is not None:
            task = asyncio.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=drain)


class Publisher:
    """Server API publications round-robin over ``channels`` (at most 64 in flight)."""

    def __init__(self, t: Target, channels: list[str]) -> None:
        self.t = t
        self.channels = channels
        self.ok = 0
        self.failed = 0
        self.skipped = 0  # ticks dropped because 64 were still in flight
        self._inflight = 0

    def start(self, n: int) -> Coroutine[Any, Any, None] | None:
        if self._inflight >= 64:
            self.skipped += 1
            return None
        self._inflight += 1
        return self._one(self.channels[n % len(self.channels)], n)

    async def _one(self, channel: str, n: int) -> None:
        try:
            await self.t.api("publish", channel=channel, data={"n": n, "pad": PAD})
            self.ok += 1
        except Exception:
            self.failed += 1
        finally:
            self._inflight -= 1


def churn_starter(
    churner: Churner, transports: list[str], channels: list[str]
) -> Callable[[int], Coroutine[Any, Any, None]]:
    """Client ``i`` uses transport ``i mod len(transports)``, a random channel and stays a
    random 0.5-2.5 s after its first publication."""
    rng = random.Random(21)

    def start(i: int) -> Coroutine[Any, Any, None]:
        channel = channels[rng.randrange(len(channels))]
        return churner.run(transports[i % len(transports)], i, channel, rng.uniform(0.5, 2.5))

    return start


async def connect_steady(
    t: Target, n: int, channels: list[str], stop: asyncio.Event
) -> tuple[list[Steady], list[asyncio.Task[None]]]:
    clients = [Steady(t, i, channels[i % len(channels)], HISTORY_SIZE) for i in range(n)]
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, n, 100):
        batch = clients[start : start + 100]
        tasks += [asyncio.create_task(c.run(stop)) for c in batch]
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in batch)), 120)
    return clients, tasks


# --- report ---------------------------------------------------------------------------------


def summarize_samples(samples: list[dict[str, Any]], half: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    late = [s for s in samples if s["at"] >= half]
    series = {
        "rss_mb": lambda s: s["rss_kb"] / 1024,
        "fds": lambda s: s["fds"],
        "tasks": lambda s: s["tasks"],
        "timers": lambda s: s["sizes"]["timers"],
        "sessions": lambda s: s["sessions"],
        "conns": lambda s: s["sizes"]["hub.conns"],
    }
    for name, get in series.items():
        out[name] = {
            "start": round(get(samples[0]), 1),
            "end": round(get(samples[-1]), 1),
            "min": round(min(get(s) for s in samples), 1),
            "max": round(max(get(s) for s in samples), 1),
            "slope_per_min_2nd_half": round(slope_per_min([(s["at"], get(s)) for s in late]), 3),
        }
    return out


def compare(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Registries bigger after the churn than before it."""
    return {k: (before.get(k, 0), v) for k, v in after.items() if v > before.get(k, 0)}


def flat_view(sample: dict[str, Any]) -> dict[str, int]:
    out = dict(sample["sizes"])
    out["sessions"] = sample["sessions"]
    out["fds"] = sample["fds"]
    out["asyncio.tasks"] = sample["tasks"]
    if "presence" in sample:
        out["presence.entries"] = sample["presence"]
    out.pop("tasks", None)  # node background tasks come and go; asyncio tasks are reported
    return out


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- main -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="gyre-soak-"))
    result: dict[str, Any] = {"args": vars(args), "load_before": loadavg()}
    redis = Redis(tmp) if args.engine == "redis" else None
    if redis is not None:
        redis.start()
    ports = {"http": free_port(), "uni_grpc": free_port(), "grpc_stream": free_port()}
    config = tmp / "config.json"
    config.write_text(json.dumps(server_config(args, ports, redis)))
    cpus = os.sched_getaffinity(0)
    pin = not args.no_pin and len(cpus) >= 2
    server = ServerProcess()
    server.t0 = time.monotonic()
    root = None
    if args.gyre_ref:
        root = tmp / "gyre-src"
        root.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.gyre_ref, "service", "generated"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", args.gyre_ref],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        result["gyre"] = f"service/ of {commit}"
    else:
        result["gyre"] = "service/ of the working tree"
    await server.start(config, args.interval, 0 if pin else None, root)
    if pin:
        os.sched_setaffinity(0, {1})
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
    t = Target(ports["http"], ports["grpc_stream"], ports["uni_grpc"], SECRET, API_KEY, http)
    channels = [f"soak:ch{i}" for i in range(args.channels)]
    stop_steady = asyncio.Event()
    steady_tasks: list[asyncio.Task[None]] = []
    try:
        log(f"{args.steady} steady clients on {args.channels} channels ({args.engine} engine)")
        steady, steady_tasks = await connect_steady(t, args.steady, channels, stop_steady)
        await t.idle()
        await asyncio.sleep(2)
        before = await server.sample_now()
        redis_before = redis.census() if redis is not None else {}
        churner = Churner(t)
        publisher = Publisher(t, channels)
        stop_churn, stop_pub = asyncio.Event(), asyncio.Event()
        cpu_from, wall_from = time.process_time(), time.monotonic()
        started = time.monotonic() - server.t0
        log(
            f"churn {args.churn_rate}/s over {len(args.transports)} transports and "
            f"{args.pub_rate} publications/s for {args.duration:.0f} s"
        )
        pubs = asyncio.create_task(paced(args.pub_rate, stop_pub, publisher.start, 30))
        starter = churn_starter(churner, args.transports, channels)
        churning = asyncio.create_task(paced(args.churn_rate, stop_churn, starter, 60))
        restart_at = (
            started + args.duration / 2 if redis is not None and args.redis_restart else None
        )
        end_at = started + args.duration
        shown = 0
        while (now := time.monotonic() - server.t0) < end_at:
            if restart_at is not None and now >= restart_at:
                assert redis is not None
                log(f"redis restart: down for {args.redis_down:.0f} s")
                await asyncio.to_thread(redis.stop)
                await asyncio.sleep(args.redis_down)
                await asyncio.to_thread(redis.start)
                result["redis_restart_at"] = round(now - started, 1)
                restart_at = None
            await asyncio.sleep(1.0)
            for s in server.samples[shown:]:
                log(
                    f"t={s['at'] - started:6.0f}s rss={s['rss_kb'] / 1024:7.1f} MB fds={s['fds']} "
                    f"tasks={s['tasks']} timers={s['sizes']['timers']} "
                    f"conns={s['sizes']['hub.conns']} "
                    f"sessions={s['sessions']} churn ok={sum(churner.done.values())} "
                    f"failed={sum(churner.failed.values())} pubs={publisher.ok}"
                )
            shown = len(server.samples)
        result["loadgen_cpu"] = round(
            (time.process_time() - cpu_from) / (time.monotonic() - wall_from), 2
        )
        log("stopping churn (the clients under way finish), then publications")
        stop_churn.set()
        await asyncio.wait({churning}, timeout=90)
        stop_pub.set()
        await asyncio.wait({pubs}, timeout=60)
        # what every channel's stream holds now, then let the steady clients catch up
        tops = {ch: (await t.api("history", channel=ch, limit=0))["offset"] for ch in channels}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(c.missing(tops[c.channel]) for c in steady):
            await asyncio.sleep(0.5)
        # deferred broker unsubscribes, background cleanups and, after engine failures,
        # presence entries that only expire (presence_ttl): look until clean or --settle
        before_view = {**flat_view(before), **redis_before}
        settle_from = time.monotonic()
        while True:
            await t.idle()
            await asyncio.sleep(5)
            after = await server.sample_now()
            redis_after = redis.census() if redis is not None else {}
            left = compare(before_view, {**flat_view(after), **redis_after})
            if not left or time.monotonic() - settle_from > args.settle:
                break
        result["settled_after_s"] = round(time.monotonic() - settle_from, 1)
        samples = [
            {**s, "at": s["at"] - started}
            for s in server.samples
            if started <= s["at"] <= started + args.duration + 1
        ]
        result.update(
            load_after=loadavg(),
            samples=samples,
            summary=summarize_samples(samples, args.duration / 2) if len(samples) >= 2 else {},
            steady={
                "clients": len(steady),
                "publications": publisher.ok,
                "publish_failed": publisher.failed,
                "publish_skipped": publisher.skipped,
                "missing": sum(c.missing(tops[c.channel]) for c in steady),
                "duplicates": sum(c.duplicates for c in steady),
                "gaps": sum(c.gaps for c in steady),
                "unrecovered": sum(c.unrecovered for c in steady),
                "beyond_history": sum(c.beyond_history for c in steady),
                "resubscribes": sum(c.resubscribes for c in steady),
                "reconnects": sum(c.reconnects for c in steady),
                "received": sum(c.received for c in steady),
                "closes": dict(sum((c.closes for c in steady), Counter())),
                "unrecovered_why": dict(sum((c.unrecovered_why for c in steady), Counter())),
            },
            churn={
                "started": dict(churner.started),
                "done": dict(churner.done),
                "failed": dict(churner.failed),
                "errors": dict(churner.errors.most_common(10)),
            },
            before=before_view,
            after={**flat_view(after), **redis_after},
            left_behind=left,
            rss_after_mb=round(after["rss_kb"] / 1024, 1),
        )
    finally:
        stop_steady.set()
        if steady_tasks:
            await asyncio.wait(steady_tasks, timeout=10)
        await server.stop()
        await t.close()
        await http.close()
        if redis is not None:
            redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def report(r: dict[str, Any]) -> str:
    a = r["args"]
    s = r["summary"]
    st = r["steady"]
    lines = [
        f"## soak: {a['engine']} engine, {a['duration'] / 60:.0f} min, {a['steady']} steady "
        f"clients on {a['channels']} channels, {a['pub_rate']} publications/s, churn "
        f"{a['churn_rate']}/s over {len(a['transports'])} transports"
        + (
            f", Redis restarted at {r['redis_restart_at']:.0f} s" if "redis_restart_at" in r else ""
        ),
        "",
        "| measure | start | end | min | max | slope over 2nd half | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    targets = {"rss_mb": (f"< {RSS_SLOPE_TARGET} MB/min", RSS_SLOPE_TARGET)}
    for name in ("fds", "tasks"):
        flat = max(2.0, FLAT_FRACTION * s[name]["start"])
        targets[name] = (f"flat (< {flat:.0f}/min)", flat)
    for name, v in s.items():
        target, limit = targets.get(name, ("info", None))
        ok = (
            "-"
            if limit is None
            else ("PASS" if abs(v["slope_per_min_2nd_half"]) < limit else "FAIL")
        )
        lines.append(
            f"| {name} | {v['start']} | {v['end']} | {v['min']} | {v['max']} | "
            f"{v['slope_per_min_2nd_half']:+.3f}/min | {target} | {ok} |"
        )
    lost = st["missing"] + st["gaps"] + st["unrecovered"]
    lines += [
        "",
        f"steady clients: {st['publications']} publications accepted ({st['publish_failed']} "
        f"refused), {st['received']} deliveries; lost within history {lost} (missing "
        f"{st['missing']}, gaps {st['gaps']}, unrecovered {st['unrecovered']}), beyond "
        f"history {st['beyond_history']}, duplicates {st['duplicates']}, "
        f"resubscribes {st['resubscribes']}, reconnects {st['reconnects']}"
        + (f" (connections ended: {st['closes']})" if st["closes"] else "")
        + (f" (not recovered: {st['unrecovered_why']})" if st["unrecovered_why"] else "")
        + ": "
        + ("PASS" if lost == 0 and st["duplicates"] == 0 else "FAIL"),
        "churn: "
        + ", ".join(
            f"{k} {r['churn']['done'].get(k, 0)}/{v}" for k, v in r["churn"]["started"].items()
        )
        + (f"; errors {r['churn']['errors']}" if r["churn"]["errors"] else ""),
        f"left behind after the churn (before -> after): {r['left_behind'] or 'nothing'} "
        f"(looked for {r['settled_after_s']:.0f} s): "
        + ("PASS" if not r["left_behind"] else "FAIL"),
        f"load generator CPU: {r['loadgen_cpu']:.0%} of a core"
        + (" (client-bound)" if r["loadgen_cpu"] >= 0.9 else ""),
        f"load average before/after: {r['load_before']} / {r['load_after']}; {r['gyre']}",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--engine", choices=("memory", "redis"), default="memory")
    p.add_argument("--duration", type=float, default=600.0, help="seconds of churn")
    p.add_argument("--steady", type=int, default=3000)
    p.add_argument("--channels", type=int, default=30)
    p.add_argument("--pub-rate", type=float, default=30.0)
    p.add_argument("--churn-rate", type=float, default=20.0)
    p.add_argument("--transports", default=",".join(TRANSPORTS))
    p.add_argument("--interval", type=float, default=15.0)
    p.add_argument("--redis-restart", action="store_true")
    p.add_argument("--redis-down", type=float, default=5.0)
    p.add_argument(
        "--settle", type=float, default=150.0, help="seconds to wait for nothing left behind"
    )
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--gyre-ref", help="serve service/ of this commit (git archive), not the tree")
    p.add_argument("--json", help="write samples and summary to this file")
    p.add_argument("--quick", action="store_true", help="2 min, 300 steady, 10/s churn")
    args = p.parse_args()
    if args.quick:
        args.duration, args.steady, args.channels = 120.0, 300, 10
        args.pub_rate, args.churn_rate, args.interval = 10.0, 10.0, 10.0
    args.transports = [x for x in args.transports.split(",") if x]
    unknown = set(args.transports) - set(TRANSPORTS)
    if unknown:
        p.error(f"unknown transports {sorted(unknown)}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    result = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(report(result))


if __name__ == "__main__":
    main()
