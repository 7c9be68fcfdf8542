#!/usr/bin/env python3
"""Redis engine benchmark of gyre, each scenario against a floor measured in the same run
(docs/performance.md).

Processes (loopback only, started and killed by PID, every wait bounded):

* one ``redis-server`` (no persistence, unlimited PUB/SUB output buffers) on CPU 1;
* the processes under test on CPU 0: two gyre nodes (``python -m service -c cfg.json``,
  ``"engine": "redis"``, same Redis), the intake subscribers and the floor clients;
* this orchestrator - HTTP API publisher, raw Redis publisher, picows WebSocket
  subscribers - on CPU 1 (a run is flagged client-bound at >= 90% of a core).

Scenarios (rounds interleave gyre and floor; the first round is a warm-up, discarded):

* **publish** - publications per second through the HTTP server API ``POST /api`` of one
  node: ``--conns`` keep-alive connections with one request in flight each, ``--batch``
  newline-delimited ``publish`` commands per body, 1000 channels without subscribers; without
  history (plain ``PUBLISH``) and with history (``history_size`` 100: the Lua script).
  Floor: ``redis-benchmark`` ``PUBLISH`` with 50 clients (no pipelining) and, for reference,
  with ``-P 16``, plus (with history) a raw hiredis client pipelining the engine's own Lua
  publish script (``EVALSHA``, 100 in flight).  Targets: >= 30k/s and >= 15k/s.
* **intake** - CPU per PUB/SUB message received: a process running the engine's
  ``RedisBroker`` (counting handler) subscribed to 1000 channels, vs a floor process with a
  raw ``asyncio.Protocol`` + ``hiredis.Reader`` subscribed to 1000 other channels.  The same
  history-prefixed publication payloads (``__p1:<offset>:<epoch>__`` + protobuf, ~130 B) are
  pushed by a pipelined raw publisher; CPU = the subscriber's ``process_time`` over the
  window.  Target <= 3 us per message.
* **fanout** - the ``bench/fanout.py`` method (picows JSON clients, connect + subscribe in
  one frame, pushes counted per frame; K publications through ``POST /api``, one request in
  flight): N subscribers all on node 1 (one node) vs N/2 on node 1 and N/2 on node 2 (two
  nodes; the API requests go to node 1).  Metric: deliveries per server CPU-second (sum of
  the nodes involved, ``/proc/<pid>/stat``).  Target: two nodes >= 0.9x one node.

Output: JSON lines on stdout (one per run, then a summary), then a markdown table with the
median (min-max) of each figure and the ratio, targets and pass/fail.  Progress: stderr.
The verdict of an absolute target is taken on the ratio: the target divided by the floor
measured once on the same kind of box (docs/performance.md#method: redis-benchmark c=50
58.7k/s, raw hiredis reader 1.03 us), compared with gyre/floor of this run - the 2-vCPU VM's
capacity swings by 2x from minute to minute, and gyre and its floor, run back to back, swing
together.  Whether
the absolute number was met is printed beside it.

    .venv/bin/python bench/redis_bench.py            # 1 warm-up + 5 rounds (< 5 minutes)
    .venv/bin/python bench/redis_bench.py --quick    # N=200, K=150, 1 + 2 rounds (< 1 minute)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loadgen import cpu_seconds, post_ok

REPO = Path(__file__).resolve().parents[1]
SECRET = "redis-bench-secret-0123456789abcdef"
API_KEY = "redis-bench-api-key"
PREFIX = "centrifugo"
PAD = "x" * 64  # ~100-byte JSON publication data
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, CLIENT_CPU = 0, 1
CLIENT_BOUND = 0.9
INTAKE_CHANNELS = 1000

TARGET_PUB = 30_000
TARGET_PUB_HIST = 15_000
TARGET_INTAKE_US = 3.0
TARGET_FANOUT_RATIO = 0.9
# The floors behind the absolute targets (docs/performance.md#method, same kind of box): the
# verdict compares gyre/floor of this run with target/floor there, so a slow or noisy box
# (this 2-vCPU VM swings 2x between minutes) moves both sides alike.  The absolute result is
# shown next to it.
SPEC_FLOOR_PUBLISH_C50 = 58_700  # redis-benchmark PUBLISH c=50
SPEC_FLOOR_INTAKE_US = 1.03  # raw asyncio.Protocol + hiredis.Reader


def log(msg: str) -> None:
    print(f"[redis-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int | None, cmd: list[str]) -> list[str]:
    if cpu is None or not shutil.which("taskset"):
        return cmd
    return ["taskset", "-c", str(cpu), *cmd]


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'generated'}")


def publication_payload(offset: int) -> bytes:
    """What the history publish script sends on ``P.client.<ch>`` (docs/redis.md#payloads)."""
    from service.core.engine import Publication
    from service.engines.redis.codec import encode_publication, history_payload

    data = json.dumps({"ts": time.monotonic_ns(), "i": offset, "pad": PAD}).encode()
    return history_payload(offset, "1700000000", encode_publication(Publication(data=data)))


# --- processes -------------------------------------------------------------------------------


class Redis:
    def __init__(self, workdir: Path, cpu: int | None) -> None:
        self.port = free_port()
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--client-output-buffer-limit",
            "pubsub 0 0 0",
            "--daemonize",
            "no",
        ]
        self.proc = subprocess.Popen(
            pinned(cpu, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port, self.proc, 10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class Gyre:
    """One gyre node with the Redis engine."""

    def __init__(self, name: str, redis: Redis, workdir: Path, cpu: int | None) -> None:
        self.name = name
        self.port = free_port()
        cfg = {
            "name": name,
            "token_hmac_secret_key": SECRET,
            "api_key": API_KEY,
            "address": "127.0.0.1",
            "port": self.port,
            "engine": "redis",
            "redis_address": [redis.address],
            "allow_subscribe_for_client": True,
            "ping_interval": "300s",
            "pong_timeout": "200s",
            "client_queue_max_size": 10 * 1024 * 1024,
            "log_level": "error",
            "namespaces": [{"name": "hist", "history_size": 100, "history_ttl": "300s"}],
        }
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(cfg))
        self.proc = subprocess.Popen(
            pinned(cpu, [sys.executable, "-m", "service", "-c", str(path)]),
            cwd=REPO,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_port(self.port, self.proc, 30)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"


@contextmanager
def processes(*procs: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            stop(p.proc)


# --- children (run as ``redis_bench.py --child KIND ...``) -------------------------------------


async def _child_intake(kind: str, port: int) -> None:
    """A subscriber of ``INTAKE_CHANNELS`` channels that counts messages on command.

    stdin ``go M``: reset, answer ``ready``; when M messages arrived print one JSON line with
    the process CPU time and wall time since ``go`` / the first message.
    """
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"count": 0, "target": 1 << 62, "done": None, "t_first": 0.0}

    def got() -> None:
        n = state["count"] = state["count"] + 1
        if n == 1:
            state["t_first"] = time.perf_counter()
        if n >= state["target"] and not state["done"].done():
            state["done"].set_result(None)

    if kind == "gyre":
        from service.engines.redis import build_redis_engine, shard_configs

        class Counting:
            def handle_publication(self, channel: str, pub: Any, position: Any) -> None:
                got()

            def handle_publications(self, channel: str, pubs: Any, positions: Any) -> None:
                for _ in pubs:
                    got()

            def handle_join(self, channel: str, info: Any) -> None:
                got()

            def handle_leave(self, channel: str, info: Any) -> None:
                got()

            def handle_control(self, data: bytes) -> None:
                pass

        broker, _ = build_redis_engine(
            shards=shard_configs(address=[f"127.0.0.1:{port}"]), prefix=PREFIX
        )
        await broker.start(Counting(), "intake-node")
        await asyncio.gather(*(broker.subscribe(f"g{i}") for i in range(INTAKE_CHANNELS)))
    else:
        import hiredis

        class RawSubscriber(asyncio.Protocol):
            def __init__(self) -> None:
                self.reader = hiredis.Reader()
                self.confirmed = 0
                self.subscribed: asyncio.Future[None] = loop.create_future()

            def data_received(self, data: bytes) -> None:
                reader = self.reader
                reader.feed(data)
                while (reply := reader.gets()) is not False:
                    if reply[0] == b"message":
                        got()
                    elif reply[0] == b"subscribe":
                        self.confirmed += 1
                        if self.confirmed == INTAKE_CHANNELS:
                            self.subscribed.set_result(None)

        transport, proto = await loop.create_connection(RawSubscriber, "127.0.0.1", port)
        names = [f"{PREFIX}.client.r{i}".encode() for i in range(INTAKE_CHANNELS)]
        transport.write(hiredis.pack_command((b"SUBSCRIBE", *names)))
        await proto.subscribed
    print("subscribed", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.split()
        if not words or words[0] != b"go":
            continue
        state.update(count=0, target=int(words[1]), done=loop.create_future(), t_first=0.0)
        cpu0, t0 = time.process_time(), time.perf_counter()
        print("ready", flush=True)
        await state["done"]
        t1 = time.perf_counter()
        cpu = time.process_time() - cpu0
        out = {
            "count": state["count"],
            "cpu_s": round(cpu, 4),
            "wall_s": round(t1 - t0, 4),
            "intake_wall_s": round(t1 - state["t_first"], 4),
        }
        print(json.dumps(out), flush=True)


def _child_lua_floor(port: int, n: int, depth: int) -> None:
    """Raw hiredis client: the engine's publish-with-history script, pipelined ``depth``."""
    import hiredis

    from service.engines.redis.codec import Names
    from service.engines.redis.scripts import PUBLISH_HISTORY

    names = Names(PREFIX)
    payload = publication_payload(0)
    sock = socket.create_connection(("127.0.0.1", port))
    reader = hiredis.Reader()

    def call(*args: Any) -> Any:
        sock.sendall(hiredis.pack_command(args))
        while (reply := reader.gets()) is False:
            reader.feed(sock.recv(65536))
        return reply

    call(b"SCRIPT", b"LOAD", PUBLISH_HISTORY.source.encode())
    batches = []
    for start in range(0, n, depth):
        cmds = []
        for i in range(start, min(n, start + depth)):
            ch = f"hluafloor{i % 1000}"
            cmds.append(
                (
                    b"EVALSHA",
                    PUBLISH_HISTORY.sha,
                    2,
                    names.stream_key(ch),
                    names.meta_key(ch),
                    payload,
                    100,
                    300,
                    names.client_channel(ch),
                    0,
                    "1700000000",
                )
            )
        batches.append((b"".join(hiredis.pack_command(c) for c in cmds), len(cmds)))
    cpu0, t0 = time.process_time(), time.perf_counter()
    for packed, count in batches:
        sock.sendall(packed)
        got = 0
        while got < count:
            reply = reader.gets()
            if reply is False:
                reader.feed(sock.recv(1 << 20))
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise SystemExit(f"lua floor: {reply}")
            got += 1
    wall = time.perf_counter() - t0
    print(json.dumps({"n": n, "wall_s": wall, "cpu_s": time.process_time() - cpu0}), flush=True)


# --- orchestrator: publish ----------------------------------------------------------------------


def api_bodies(total: int, batch: int, history: bool) -> list[bytes]:
    prefix = "hist:p" if history else "p"
    bodies = []
    for start in range(0, total, batch):
        lines = []
        for i in range(start, min(total, start + batch)):
            data = {"ts": time.monotonic_ns(), "i": i, "pad": PAD}
            params = {"channel": f"{prefix}{i % 1000}", "data": data}
            lines.append(json.dumps({"method": "publish", "params": params}))
        bodies.append("\n".join(lines).encode())
    return bodies


async def run_api_publish(
    gyre: Gyre, redis: Redis, total: int, batch: int, conns: int, history: bool, timeout: float
) -> dict[str, Any]:
    import aiohttp

    bodies = api_bodies(total, batch, history)
    headers = {"Authorization": f"apikey {API_KEY}", "Content-Type": "application/json"}
    queue = list(reversed(bodies))
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while queue:
            body = queue.pop()
            async with session.post(gyre.api_url, data=body, headers=headers) as r:
                reply = await r.read()
                if r.status != 200:
                    errors += body.count(b"\n") + 1
                else:
                    errors += reply.count(b'"error"')

    connector = aiohttp.TCPConnector(limit=conns)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def warm(body: bytes) -> None:  # open the keep-alive connections untimed
            async with session.post(gyre.api_url, data=body, headers=headers) as r:
                await r.read()

        await asyncio.gather(*(warm(b) for b in api_bodies(conns, 1, history)))
        srv0, red0, cli0 = cpu_seconds(gyre.pid), cpu_seconds(redis.proc.pid), time.process_time()
        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker(session) for _ in range(conns))), timeout)
        wall = time.perf_counter() - t0
        srv, red = cpu_seconds(gyre.pid) - srv0, cpu_seconds(redis.proc.pid) - red0
        cli = time.process_time() - cli0
    return {
        "publications": total,
        "api_errors": errors,
        "wall_s": round(wall, 4),
        "per_s": round(total / wall),
        "server_cpu_s": round(srv, 3),
        "server_us_per_pub": round(srv / total * 1e6, 2),
        "server_util": round(srv / wall, 3),
        "redis_cpu_s": round(red, 3),
        "client_util": round(cli / wall, 3),
    }


def run_redis_benchmark(redis: Redis, n: int, pipeline: int) -> dict[str, Any]:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return {"error": "redis-benchmark not installed (Debian redis-tools)"}
    argv = [exe, "-h", "127.0.0.1", "-p", str(redis.port), "-c", "50", "-n", str(n)]
    argv += ["-P", str(pipeline), "-r", "1000", "--csv"]
    argv += ["publish", "rb:__rand_int__", "x" * 100]
    red0 = cpu_seconds(redis.proc.pid)
    res = subprocess.run(pinned(SERVER_CPU, argv), capture_output=True, text=True, timeout=120)
    red = cpu_seconds(redis.proc.pid) - red0
    rows = list(csv.reader(io.StringIO(res.stdout)))
    if res.returncode != 0 or len(rows) < 2:
        return {"error": f"redis-benchmark failed: {res.stderr[-500:]}"}
    return {
        "publications": n,
        "pipeline": pipeline,
        "per_s": round(float(rows[1][1])),
        "redis_cpu_s": round(red, 3),
    }


def run_lua_floor(redis: Redis, n: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", "lua", str(redis.port), str(n)]
    res = subprocess.run(
        pinned(SERVER_CPU, argv), capture_output=True, text=True, timeout=120, env=child_env()
    )
    if res.returncode != 0:
        return {"error": f"lua floor failed: {res.stderr[-500:]}"}
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {
        "publications": n,
        "per_s": round(n / out["wall_s"]),
        "client_us_per_pub": round(out["cpu_s"] / n * 1e6, 2),
    }


# --- orchestrator: intake -----------------------------------------------------------------------


class IntakeChild:
    def __init__(self, kind: str, redis: Redis) -> None:
        self.kind = kind
        argv = [sys.executable, __file__, "--child", f"intake-{kind}", str(redis.port)]
        self.proc = subprocess.Popen(
            pinned(SERVER_CPU, argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
            cwd=REPO,
        )
        self._line(30)  # "subscribed"

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        import select

        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"intake {self.kind}: no answer within {timeout}s")
        line = self.proc.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"intake {self.kind} exited ({self.proc.poll()})")
        return line.strip()

    def go(self, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"go {n}\n".encode())
        self.proc.stdin.flush()
        assert self._line(10) == "ready"

    def result(self, timeout: float) -> dict[str, Any]:
        return dict(json.loads(self._line(timeout)))


def intake_commands(prefix: str, n: int, chunk: int = 1000) -> list[tuple[bytes, int]]:
    import hiredis

    payloads = [publication_payload(i + 1) for i in range(min(n, 1000))]
    out = []
    for start in range(0, n, chunk):
        cmds = [
            (b"PUBLISH", f"{PREFIX}.client.{prefix}{i % INTAKE_CHANNELS}", payloads[i % 1000])
            for i in range(start, min(n, start + chunk))
        ]
        out.append((b"".join(hiredis.pack_command(c) for c in cmds), len(cmds)))
    return out


async def raw_publish(redis: Redis, batches: list[tuple[bytes, int]], depth: int = 4) -> float:
    """Pipelined PUBLISH of pre-packed batches (``depth`` batches in flight); returns wall s."""
    import hiredis

    r, w = await asyncio.open_connection("127.0.0.1", redis.port)
    reader = hiredis.Reader()
    t0 = time.perf_counter()
    pending: list[int] = []

    async def drain_one() -> None:
        want = pending.pop(0)
        while want:
            reply = reader.gets()
            if reply is False:
                reader.feed(await r.read(1 << 20))
            else:
                want -= 1

    for packed, count in batches:
        w.write(packed)
        pending.append(count)
        if len(pending) >= depth:
            await drain_one()
    while pending:
        await drain_one()
    wall = time.perf_counter() - t0
    w.close()
    return wall


async def run_intake(
    child: IntakeChild, redis: Redis, batches: list[tuple[bytes, int]], n: int, timeout: float
) -> dict[str, Any]:
    child.go(n)
    pub_wall = await raw_publish(redis, batches)
    res = await asyncio.to_thread(child.result, timeout)
    res.update(
        messages=n,
        cpu_us_per_msg=round(res["cpu_s"] / n * 1e6, 3),
        msgs_per_s=round(n / res["intake_wall_s"]) if res["intake_wall_s"] > 0 else 0,
        publisher_per_s=round(n / pub_wall),
    )
    return res


# --- orchestrator: fan-out ----------------------------------------------------------------------


class FanoutStats:
    __slots__ = ("done", "frames", "msgs", "t_last", "target")

    def __init__(self) -> None:
        self.msgs = 0
        self.frames = 0
        self.target = 1 << 62
        self.t_last = 0.0
        self.done: asyncio.Future[None] | None = None


def _listener_class() -> type:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport

    class Subscriber(WSListener):  # type: ignore[misc]
        """One JSON client: connect + subscribe in one frame, then counts pushes."""

        def __init__(self, stats: FanoutStats, hello: bytes, ready: asyncio.Future[None]):
            self.stats = stats
            self.hello = hello
            self.ready = ready
            self.subscribed = False

        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(WSMsgType.TEXT, self.hello)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            data = frame.get_payload_as_bytes()
            if self.subscribed:
                pushes = data.count(b'{"push":')
                if b"{}" in data.split(b"\n"):
                    transport.send(WSMsgType.TEXT, b"{}")
                if pushes:
                    st = self.stats
                    st.frames += 1
                    st.msgs += pushes
                    if st.msgs >= st.target:
                        st.t_last = time.perf_counter()
                        if st.done is not None and not st.done.done():
                            st.done.set_result(None)
                return
            for line in data.split(b"\n"):
                reply = json.loads(line)
                if reply.get("id") == 2 and not self.ready.done():
                    if "subscribe" in reply:
                        self.subscribed = True
                        self.ready.set_result(None)
                    else:
                        self.ready.set_exception(RuntimeError(f"subscribe failed: {reply}"))
                elif "error" in reply and not self.ready.done():
                    self.ready.set_exception(RuntimeError(f"connect failed: {reply}"))

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            if not self.ready.done():
                self.ready.set_exception(ConnectionError("disconnected before subscribe"))

    return Subscriber


async def connect_subscribers(
    url: str, channel: str, n: int, stats: FanoutStats, timeout: float
) -> list[Any]:
    import jwt
    from picows import ws_connect

    listener = _listener_class()
    token = jwt.encode({"sub": "bench"}, SECRET, algorithm="HS256")
    hello = (
        json.dumps({"id": 1, "connect": {"token": token}}).encode()
        + b"\n"
        + json.dumps({"id": 2, "subscribe": {"channel": channel}}).encode()
    )
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(200)
    transports: list[Any] = []

    async def one() -> None:
        async with sem:
            ready: asyncio.Future[None] = loop.create_future()
            transport, _ = await ws_connect(
                lambda: listener(stats, hello, ready), url, enable_auto_pong=True
            )
            transports.append(transport)
            await ready

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout)
    return transports


async def run_fanout(
    api: Gyre, nodes: list[Gyre], channel: str, stats: FanoutStats, n: int, k: int, timeout: float
) -> dict[str, Any]:
    import aiohttp

    headers = {"Authorization": f"apikey {API_KEY}", "Content-Type": "application/json"}
    bodies = []
    for i in range(k):
        data = {"ts": time.monotonic_ns(), "i": i, "pad": PAD}
        bodies.append(
            json.dumps({"method": "publish", "params": {"channel": channel, "data": data}})
        )
    loop = asyncio.get_running_loop()
    stats.done = loop.create_future()
    stats.target = stats.msgs + n * k
    base_msgs, base_frames = stats.msgs, stats.frames
    errors = lost = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        warm = json.dumps({"method": "info", "params": {}})
        async with session.post(api.api_url, data=warm, headers=headers) as r:
            await r.read()
        srv0 = [cpu_seconds(g.pid) for g in nodes]
        cli0 = time.process_time()
        t0 = time.perf_counter()
        for body in bodies:
            if not await post_ok(session, api.api_url, body, headers):
                errors += 1
        try:
            await asyncio.wait_for(stats.done, timeout)
        except TimeoutError:
            stats.t_last = time.perf_counter()
            lost = stats.target - stats.msgs
        srv = [cpu_seconds(g.pid) - c for g, c in zip(nodes, srv0, strict=True)]
        cli = time.process_time() - cli0
    wall = stats.t_last - t0
    deliveries = stats.msgs - base_msgs
    frames = stats.frames - base_frames
    total_cpu = max(sum(srv), 1.0 / CLK_TCK)
    return {
        "n": n,
        "k": k,
        "nodes": len(nodes),
        "deliveries": deliveries,
        "lost": lost,
        "api_errors": errors,
        "msgs_per_frame": round(deliveries / frames, 3) if frames else 0.0,
        "wall_s": round(wall, 4),
        "server_cpu_s": [round(s, 3) for s in srv],
        "deliveries_per_s": round(deliveries / wall) if wall > 0 else 0,
        "deliveries_per_server_cpu_s": round(deliveries / total_cpu),
        "client_util": round(cli / wall, 3) if wall > 0 else 0.0,
    }


# --- main -----------------------------------------------------------------------------------------


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(s: dict[str, float] | None, f: Callable[[float], str]) -> str:
    if s is None:
        return "n/a"
    if s["min"] == s["max"]:
        return f(s["median"])
    return f"{f(s['median'])} ({f(s['min'])}-{f(s['max'])})"


def k_fmt(v: float) -> str:
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


async def bench(args: argparse.Namespace) -> int:
    started = time.monotonic()
    records: list[dict[str, Any]] = []

    def emit(rec: dict[str, Any]) -> None:
        records.append(rec)
        print(json.dumps(rec), flush=True)

    pin = (os.cpu_count() or 1) >= 2
    srv_cpu, cli_cpu = (SERVER_CPU, CLIENT_CPU) if pin else (None, None)
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    emit(
        {
            "kind": "env",
            "python": platform.python_version(),
            "redis": subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True
            ).stdout.strip(),
            "cpus": os.cpu_count(),
            "pinned": pin,
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
            ).stdout.strip(),
            **{k: v for k, v in vars(args).items() if k not in ("child", "child_args")},
        }
    )
    rounds = args.warmup + args.rounds

    def out_of_time() -> bool:
        if time.monotonic() - started > args.max_seconds:
            emit({"kind": "stopped", "reason": "max-seconds"})
            return True
        return False

    with tempfile.TemporaryDirectory(prefix="redis-bench-") as tmp:
        workdir = Path(tmp)
        redis = Redis(workdir, cli_cpu)
        with processes(redis):
            g1 = Gyre("node1", redis, workdir, srv_cpu)
            g2 = Gyre("node2", redis, workdir, srv_cpu)
            with processes(g1, g2):
                await asyncio.sleep(1.0)
                # --- publish ------------------------------------------------------------
                if "publish" in args.scenarios:
                    for rnd in range(rounds):
                        if out_of_time():
                            break
                        base = {"kind": "run", "round": rnd, "warmup": rnd < args.warmup}
                        for history in (False, True):
                            res = await run_api_publish(
                                g1, redis, args.pubs, args.batch, args.conns, history, args.timeout
                            )
                            emit(
                                {
                                    **base,
                                    "scenario": "publish",
                                    "impl": "gyre",
                                    "history": history,
                                    **res,
                                }
                            )
                        for pipeline in (1, 16):
                            n = args.pubs * (1 if pipeline == 1 else 10)
                            res = await asyncio.to_thread(run_redis_benchmark, redis, n, pipeline)
                            impl = f"redis-benchmark-P{pipeline}"
                            emit({**base, "scenario": "publish", "impl": impl, **res})
                        res = await asyncio.to_thread(run_lua_floor, redis, args.pubs)
                        emit({**base, "scenario": "publish", "impl": "lua-floor", **res})
                        log(f"publish round {rnd} done")
                # --- intake -------------------------------------------------------------
                if "intake" in args.scenarios and not out_of_time():
                    gyre_child = IntakeChild("gyre", redis)
                    raw_child = IntakeChild("raw", redis)
                    with processes(gyre_child, raw_child):
                        batches = {
                            "gyre": intake_commands("g", args.msgs),
                            "raw": intake_commands("r", args.msgs),
                        }
                        children = {"gyre": gyre_child, "raw": raw_child}
                        for rnd in range(rounds):
                            if out_of_time():
                                break
                            order = ("gyre", "raw") if rnd % 2 == 0 else ("raw", "gyre")
                            for impl in order:
                                res = await run_intake(
                                    children[impl], redis, batches[impl], args.msgs, args.timeout
                                )
                                emit(
                                    {
                                        "kind": "run",
                                        "round": rnd,
                                        "warmup": rnd < args.warmup,
                                        "scenario": "intake",
                                        "impl": impl,
                                        **res,
                                    }
                                )
                            log(f"intake round {rnd} done")
                # --- fan-out ------------------------------------------------------------
                if "fanout" in args.scenarios and not out_of_time():
                    await fanout_rounds(args, g1, g2, rounds, emit, out_of_time)
    table = report(records, args)
    print(table, flush=True)
    if args.md_out:
        Path(args.md_out).write_text(table + "\n")
    return 1 if any("error" in r for r in records) else 0


async def fanout_rounds(
    args: argparse.Namespace,
    g1: Gyre,
    g2: Gyre,
    rounds: int,
    emit: Callable[[dict[str, Any]], None],
    out_of_time: Callable[[], bool],
) -> None:
    one, two = FanoutStats(), FanoutStats()
    half = args.n // 2
    transports = await connect_subscribers(g1.ws_url, "fan1", args.n, one, args.timeout)
    transports += await connect_subscribers(g1.ws_url, "fan2", half, two, args.timeout)
    transports += await connect_subscribers(g2.ws_url, "fan2", args.n - half, two, args.timeout)
    await asyncio.sleep(0.5)
    try:
        for rnd in range(rounds):
            if out_of_time():
                break
            order = ("one", "two") if rnd % 2 == 0 else ("two", "one")
            for impl in order:
                if impl == "one":
                    res = await run_fanout(g1, [g1], "fan1", one, args.n, args.k, args.timeout)
                else:
                    res = await run_fanout(g1, [g1, g2], "fan2", two, args.n, args.k, args.timeout)
                res["client_bound"] = res["client_util"] >= CLIENT_BOUND
                emit(
                    {
                        "kind": "run",
                        "round": rnd,
                        "warmup": rnd < args.warmup,
                        "scenario": "fanout",
                        "impl": impl,
                        **res,
                    }
                )
                await asyncio.sleep(0.3)
            log(f"fanout round {rnd} done")
    finally:
        for t in transports:
            t.disconnect(graceful=False)


def judge(
    ratio: dict[str, float] | None,
    value: dict[str, float] | None,
    ratio_ok: Callable[[float], bool],
    value_ok: Callable[[float], bool],
) -> str:
    """Verdict on the median ratio to the same-run floor, with the absolute one beside it."""
    if ratio is None or value is None:
        return "n/a"
    verdict = "PASS" if ratio_ok(ratio["median"]) else "FAIL"
    return f"{verdict} (absolute: {'met' if value_ok(value['median']) else 'not met'})"


def report(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    runs = [r for r in records if r.get("kind") == "run" and not r["warmup"] and "error" not in r]

    def vals(scenario: str, impl: str, key: str, **match: Any) -> list[float]:
        return [
            r[key]
            for r in runs
            if r["scenario"] == scenario
            and r["impl"] == impl
            and all(r.get(mk) == mv for mk, mv in match.items())
        ]

    def ratios(scenario: str, a: tuple[str, dict[str, Any]], b: str, key: str) -> list[float]:
        out = []
        for rnd in sorted({r["round"] for r in runs if r["scenario"] == scenario}):
            x = [
                r[key]
                for r in runs
                if r["scenario"] == scenario
                and r["round"] == rnd
                and r["impl"] == a[0]
                and all(r.get(mk) == mv for mk, mv in a[1].items())
            ]
            y = [
                r[key]
                for r in runs
                if r["scenario"] == scenario and r["round"] == rnd and r["impl"] == b
            ]
            if x and y and y[0]:
                out.append(x[0] / y[0])
        return out

    rows: list[list[str]] = []
    summary: list[dict[str, Any]] = []
    ratio_f: Callable[[float], str] = lambda x: f"{x:.2f}x"  # noqa: E731
    us_f: Callable[[float], str] = lambda x: f"{x:.2f} µs"  # noqa: E731

    def row(
        label: str,
        metric: str,
        ours: Any,
        floor_name: str,
        floor: Any,
        ratio: Any,
        target: str,
        verdict: str,
        f: Callable[[float], str],
    ) -> None:
        rows.append(
            [
                label,
                metric,
                fmt(ours, f),
                f"{floor_name}: {fmt(floor, f)}" if floor is not None else "-",
                fmt(ratio, ratio_f),
                target,
                verdict,
            ]
        )
        summary.append(
            {
                "scenario": label,
                "metric": metric,
                "gyre": ours,
                "floor_name": floor_name,
                "floor": floor,
                "ratio": ratio,
                "target": target,
                "result": verdict,
            }
        )

    rb1 = summarize(vals("publish", "redis-benchmark-P1", "per_s"))
    rb16 = summarize(vals("publish", "redis-benchmark-P16", "per_s"))
    lua = summarize(vals("publish", "lua-floor", "per_s"))
    for history, target in ((False, TARGET_PUB), (True, TARGET_PUB_HIST)):
        ours = summarize(vals("publish", "gyre", "per_s", history=history))
        label = f"API publish, {'with' if history else 'no'} history"
        rat = summarize(
            ratios("publish", ("gyre", {"history": history}), "redis-benchmark-P1", "per_s")
        )
        want = target / SPEC_FLOOR_PUBLISH_C50
        row(
            label,
            "publications/s",
            ours,
            "redis-benchmark PUBLISH c=50",
            rb1,
            rat,
            f"≥ {target // 1000}k/s ≙ ≥ {want:.2f}x floor",
            judge(rat, ours, lambda r, w=want: r >= w, lambda v, t=target: v >= t),
            k_fmt,
        )
        rat16 = summarize(
            ratios("publish", ("gyre", {"history": history}), "redis-benchmark-P16", "per_s")
        )
        row(
            label,
            "publications/s",
            ours,
            "redis-benchmark c=50 -P 16",
            rb16,
            rat16,
            "info",
            "",
            k_fmt,
        )
        if history:
            ratl = summarize(ratios("publish", ("gyre", {"history": True}), "lua-floor", "per_s"))
            row(
                label,
                "publications/s",
                ours,
                "raw pipelined Lua (EVALSHA x100)",
                lua,
                ratl,
                "info",
                "",
                k_fmt,
            )
        cpu = summarize(vals("publish", "gyre", "server_us_per_pub", history=history))
        row(label, "server CPU per publication", cpu, "", None, None, "info", "", us_f)

    ours = summarize(vals("intake", "gyre", "cpu_us_per_msg"))
    raw = summarize(vals("intake", "raw", "cpu_us_per_msg"))
    rat = summarize(ratios("intake", ("gyre", {}), "raw", "cpu_us_per_msg"))
    want = TARGET_INTAKE_US / SPEC_FLOOR_INTAKE_US
    row(
        "PUB/SUB intake",
        "CPU per message",
        ours,
        "raw hiredis reader",
        raw,
        rat,
        f"≤ {TARGET_INTAKE_US:.0f} µs ≙ ≤ {want:.1f}x floor",
        judge(rat, ours, lambda r: r <= want, lambda v: v <= TARGET_INTAKE_US),
        us_f,
    )
    rate = summarize(vals("intake", "gyre", "msgs_per_s"))
    raw_rate = summarize(vals("intake", "raw", "msgs_per_s"))
    row(
        "PUB/SUB intake",
        "messages/s",
        rate,
        "raw hiredis reader",
        raw_rate,
        None,
        "info",
        "",
        k_fmt,
    )

    key = "deliveries_per_server_cpu_s"
    two = summarize(vals("fanout", "two", key))
    one = summarize(vals("fanout", "one", key))
    rat = summarize(ratios("fanout", ("two", {}), "one", key))
    verdict = "n/a" if rat is None else "PASS" if rat["median"] >= TARGET_FANOUT_RATIO else "FAIL"
    row(
        f"fan-out N={args.n} K={args.k}",
        "deliveries per server CPU-s (2 nodes)",
        two,
        "1 node",
        one,
        rat,
        f"≥ {TARGET_FANOUT_RATIO}x 1 node",
        verdict,
        k_fmt,
    )
    two_w = summarize(vals("fanout", "two", "deliveries_per_s"))
    one_w = summarize(vals("fanout", "one", "deliveries_per_s"))
    row(
        f"fan-out N={args.n} K={args.k}",
        "deliveries/s wall (2 nodes)",
        two_w,
        "1 node",
        one_w,
        None,
        "info",
        "",
        k_fmt,
    )
    bound = [r for r in runs if r.get("client_bound")]
    print(json.dumps({"kind": "summary", "results": summary}), flush=True)

    head = ["scenario", "metric", "gyre", "floor", "gyre/floor", "target", "result"]
    lines = [
        "",
        f"## Redis engine benchmark ({args.rounds} round(s) after {args.warmup} warm-up; "
        "median (min-max))",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"publish: {args.pubs} publications, {args.conns} connections x {args.batch} commands "
        "per /api body, 1000 channels, no subscribers. intake: "
        f"{args.msgs} messages over {INTAKE_CHANNELS} channels. fan-out: K publications through "
        "/api of node 1, one request in flight; CPU = sum over the nodes involved.",
        "Processes under test pinned to CPU 0; redis-server and the load generator to CPU 1.",
    ]
    if bound:
        lines.append(f"⚠ {len(bound)} run(s) client-bound (client CPU ≥ 90% of a core).")
    if args.quick:
        lines.append("--quick: smoke run, short windows, noisy figures.")
    errors = [r for r in records if "error" in r]
    if errors:
        lines.append(f"{len(errors)} run(s) failed: see the JSON lines.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--scenarios", nargs="+", default=["publish", "intake", "fanout"])
    ap.add_argument("--pubs", type=int, default=60_000, help="publications per publish run")
    ap.add_argument("--batch", type=int, default=50, help="publish commands per /api body")
    ap.add_argument("--conns", type=int, default=64, help="concurrent API connections")
    ap.add_argument("--msgs", type=int, default=300_000, help="messages per intake run")
    ap.add_argument("--n", type=int, default=1000, help="fan-out subscribers")
    ap.add_argument("--k", type=int, default=300, help="fan-out publications")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="bound of every run, s")
    ap.add_argument("--max-seconds", type=float, default=540.0, help="no new round after this")
    ap.add_argument("--md-out", help="also write the markdown table to this file")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 warm-up + 2 rounds")
    args = ap.parse_args()
    sys.path[:0] = [str(REPO), str(REPO / "generated")]
    import uvloop

    if args.child == "lua":
        _child_lua_floor(int(args.child_args[0]), int(args.child_args[1]), 100)
        return 0
    if args.child in ("intake-gyre", "intake-raw"):
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        uvloop.run(_child_intake(args.child.split("-")[1], int(args.child_args[0])))
        return 0
    if args.quick:
        args.pubs, args.msgs, args.n, args.k, args.rounds = 10_000, 50_000, 200, 150, 2
    if shutil.which("redis-server") is None:
        log("redis-server not installed (scripts/ensure_redis.sh)")
        return 2
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if 2 * args.n + 100 > hard:
        log(f"ulimit -n {hard} is too low for --n {args.n}")
        return 2
    code = uvloop.run(bench(args))
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
