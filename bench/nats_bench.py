#!/usr/bin/env python3
"""NATS broker benchmark of gyre (``"broker": "nats"``), each figure against a floor measured
in the same run.  Loopback only; processes started and stopped by PID; nats-server on CPU 1,
the processes under test on CPU 0, this orchestrator (load generator) on CPU 1.

* **publish** - publications per second through the HTTP server API of one node (``--conns``
  keep-alive connections, ``--batch`` publish commands per body, 1000 channels without
  subscribers) vs the floor: a raw nats-py process publishing the same-size payloads in a
  loop (``nats bench``-style, one ``flush`` at the end).
* **intake** - CPU per message received: a process running the engine's ``NatsBroker``
  (counting handler) subscribed to 1000 channels vs a floor process with plain nats-py
  subscriptions (``nc.subscribe(subject, cb=...)``) on 1000 other channels; the same Push
  payloads are published by the orchestrator; CPU = the subscriber's ``process_time``.
* **fanout** - ``bench/redis_bench.py``'s method: N picows subscribers all on node 1 vs N/2 on
  each of two nodes, K publications through node 1's API; deliveries per server CPU-second.
  Target: two nodes >= 0.9x one node.

    .venv/bin/python bench/nats_bench.py            # 1 warm-up + 3 rounds
    .venv/bin/python bench/nats_bench.py --quick    # smaller, 1 + 1 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_bench import (
    API_KEY,
    PAD,
    REPO,
    SECRET,
    FanoutStats,
    child_env,
    connect_subscribers,
    fmt,
    free_port,
    k_fmt,
    pinned,
    processes,
    run_api_publish,
    run_fanout,
    summarize,
    wait_port,
)

PREFIX = "centrifugo"
CHANNELS = 1000
SERVER_CPU, CLIENT_CPU = 0, 1
TARGET_FANOUT_RATIO = 0.9


def log(msg: str) -> None:
    print(f"[nats-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Nats:
    def __init__(self, cpu: int | None) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            pinned(cpu, [binary, "-a", "127.0.0.1", "-p", str(self.port)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc, 10)


class Gyre:
    """One gyre node with ``broker: nats``."""

    def __init__(self, name: str, nats: Nats, workdir: Path, cpu: int | None) -> None:
        self.name = name
        self.port = free_port()
        cfg = {
            "name": name,
            "token_hmac_secret_key": SECRET,
            "api_key": API_KEY,
            "address": "127.0.0.1",
            "port": self.port,
            "broker": "nats",
            "nats_url": nats.url,
            "allow_subscribe_for_client": True,
            "ping_interval": "300s",
            "pong_timeout": "200s",
            "client_queue_max_size": 10 * 1024 * 1024,
            "log_level": "error",
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


def push_payload(channel: str, i: int) -> bytes:
    """What the broker publishes for a ~100-byte JSON API publication."""
    from service.core.engine import Publication
    from service.engines.nats.codec import encode_publication_push, push_header

    data = json.dumps({"ts": time.monotonic_ns(), "i": i, "pad": PAD}).encode()
    return encode_publication_push(push_header(channel), Publication(data))


# --- children (``nats_bench.py --child KIND URL [N]``) ----------------------------------------


async def _child_raw_publish(url: str, n: int) -> None:
    """Floor of ``publish``: nats-py publishing pre-built payloads as fast as it can."""
    import nats

    nc = await nats.connect(url)
    payloads = [(f"{PREFIX}.client.p{i % CHANNELS}", push_payload(f"p{i}", i)) for i in range(n)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for subject, payload in payloads:
        await nc.publish(subject, payload)
    await nc.flush()
    wall = time.perf_counter() - t0
    print(json.dumps({"n": n, "wall_s": wall, "cpu_s": time.process_time() - cpu0}), flush=True)
    await nc.close()


async def _child_intake(kind: str, url: str) -> None:
    """Subscribe 1000 channels (``gyre``: NatsBroker, ``raw``: nats-py callbacks), then on
    ``go N`` from stdin count N messages and print the CPU they took."""
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"count": 0, "target": 1 << 62, "done": None}

    def got() -> None:
        state["count"] += 1
        if state["count"] >= state["target"] and not state["done"].done():
            state["done"].set_result(None)

    if kind == "gyre":
        from service.engines.nats import NatsBroker

        class Counting:
            def handle_publication(self, channel: str, pub: Any, position: Any) -> None:
                got()

            def handle_publications(self, channel: str, pubs: Any, positions: Any) -> None:
                for _ in pubs:
                    got()

            def handle_join(self, channel: str, info: Any) -> None: ...

            def handle_leave(self, channel: str, info: Any) -> None: ...

            def handle_control(self, data: bytes) -> None: ...

        broker = NatsBroker(url=url, prefix=PREFIX)
        await broker.start(Counting(), "bench-node")
        await asyncio.gather(*(broker.subscribe(f"g{i}") for i in range(CHANNELS)))
    else:
        import nats

        nc = await nats.connect(url)

        async def cb(msg: Any) -> None:
            got()

        for i in range(CHANNELS):
            await nc.subscribe(f"{PREFIX}.client.r{i}", cb=cb)
        # nats-py's flush() may PING ahead of queued SUBs: wait for a probe through the last
        state.update(target=1, done=loop.create_future())
        await nc.publish(f"{PREFIX}.client.r{CHANNELS - 1}", b"probe")
        await state["done"]
    print("subscribed", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.split()
        if not words or words[0] != b"go":
            continue
        state.update(count=0, target=int(words[1]), done=loop.create_future())
        cpu0, t0 = time.process_time(), time.perf_counter()
        print("ready", flush=True)
        try:
            await asyncio.wait_for(asyncio.shield(state["done"]), 120)
        except TimeoutError:
            pass  # reported as a short count
        out = {"count": state["count"], "cpu_s": time.process_time() - cpu0}
        out["wall_s"] = time.perf_counter() - t0
        print(json.dumps(out), flush=True)


class IntakeChild:
    def __init__(self, kind: str, url: str, cpu: int | None) -> None:
        cmd = [sys.executable, __file__, "--child", "intake", kind, url]
        self.proc = subprocess.Popen(
            pinned(cpu, cmd),
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "subscribed"

    def go(self, n: int) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"go {n}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ready"

    def result(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        out: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return out


async def run_intake(nats: Nats, child: IntakeChild, letter: str, n: int) -> dict[str, Any]:
    import nats as nats_py

    nc = await nats_py.connect(nats.url)
    batch = [(f"{PREFIX}.client.{letter}{i % CHANNELS}", push_payload("x", i)) for i in range(n)]
    await asyncio.to_thread(child.go, n)
    for i, (subject, payload) in enumerate(batch):
        await nc.publish(subject, payload)
        if i % 2000 == 1999:
            await nc.flush()
    await nc.flush()
    out = await asyncio.to_thread(child.result)
    await nc.close()
    out["us_per_msg"] = round(out["cpu_s"] / out["count"] * 1e6, 3)
    return out


def run_raw_publish(nats: Nats, n: int, cpu: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "raw_publish", nats.url, str(n)]
    out = subprocess.run(pinned(cpu, cmd), cwd=REPO, env=child_env(), capture_output=True)
    res: dict[str, Any] = json.loads(out.stdout)
    res["per_s"] = round(n / res["wall_s"])
    return res


async def bench(args: argparse.Namespace) -> int:
    pin = (os.cpu_count() or 1) >= 2
    srv_cpu, cli_cpu = (SERVER_CPU, CLIENT_CPU) if pin else (None, None)
    records: dict[str, list[float]] = {}

    def note(key: str, value: float) -> None:
        records.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        nats = Nats(cli_cpu)
        g1 = Gyre("nats-bench-1", nats, Path(tmp), srv_cpu)
        g2 = Gyre("nats-bench-2", nats, Path(tmp), srv_cpu)
        gyre_in = IntakeChild("gyre", nats.url, srv_cpu)
        raw_in = IntakeChild("raw", nats.url, srv_cpu)
        with processes(gyre_in, raw_in, g1, g2, nats):  # stopped in this order
            await asyncio.sleep(4)  # node info exchanged: both nodes know each other
            stats = FanoutStats()
            half = args.n // 2
            await connect_subscribers(g1.ws_url, "one", args.n, stats, 60)
            await connect_subscribers(g1.ws_url, "two", half, stats, 60)
            await connect_subscribers(g2.ws_url, "two", args.n - half, stats, 60)
            for rnd in range(args.rounds + 1):
                warm = rnd == 0
                log(f"round {rnd}{' (warm-up)' if warm else ''}")
                pub = await run_api_publish(
                    g1,
                    nats,
                    args.pubs,
                    args.batch,
                    args.conns,
                    False,
                    120,  # type: ignore[arg-type]
                )
                raw = run_raw_publish(nats, args.pubs, srv_cpu)
                gi = await run_intake(nats, gyre_in, "g", args.intake)
                ri = await run_intake(nats, raw_in, "r", args.intake)
                one = await run_fanout(g1, [g1], "one", stats, args.n, args.k, 60)  # type: ignore[arg-type]
                two = await run_fanout(g1, [g1, g2], "two", stats, args.n, args.k, 60)  # type: ignore[arg-type]
                rec = {"round": rnd, "publish": pub, "raw_publish": raw, "intake_gyre": gi}
                rec.update(intake_raw=ri, fanout_one=one, fanout_two=two)
                print(json.dumps(rec), flush=True)
                if warm:
                    continue
                note("api_pub_per_s", pub["per_s"])
                note("raw_pub_per_s", raw["per_s"])
                note("pub_ratio", pub["per_s"] / raw["per_s"])
                note("api_us_per_pub", pub["server_us_per_pub"])
                raw_us = raw["cpu_s"] / raw["n"] * 1e6
                note("raw_us_per_pub", raw_us)
                note("pub_cpu_ratio", pub["server_us_per_pub"] / raw_us)
                note("gyre_us", gi["us_per_msg"])
                note("raw_us", ri["us_per_msg"])
                note("intake_ratio", gi["us_per_msg"] / ri["us_per_msg"])
                note("one_node", one["deliveries_per_server_cpu_s"])
                note("two_nodes", two["deliveries_per_server_cpu_s"])
                two_vs_one = two["deliveries_per_server_cpu_s"] / one["deliveries_per_server_cpu_s"]
                note("fanout_ratio", two_vs_one)
                note("client_util", max(pub["client_util"], one["client_util"]))
    s = {k: summarize(v) for k, v in records.items()}
    ratio = s["fanout_ratio"]
    ok = ratio is not None and ratio["median"] >= TARGET_FANOUT_RATIO
    print(
        "\n| figure | gyre | floor | gyre/floor |\n|---|---|---|---|\n"
        f"| publish/s via HTTP API (NATS broker) vs raw nats-py publish | "
        f"{fmt(s['api_pub_per_s'], k_fmt)} | {fmt(s['raw_pub_per_s'], k_fmt)} | "
        f"{fmt(s['pub_ratio'], lambda v: f'{v:.2f}x')} |\n"
        f"| CPU per publish: gyre server (HTTP, JSON, executor, broker) vs raw nats-py | "
        f"{fmt(s['api_us_per_pub'], lambda v: f'{v:.2f} us')} | "
        f"{fmt(s['raw_us_per_pub'], lambda v: f'{v:.2f} us')} | "
        f"{fmt(s['pub_cpu_ratio'], lambda v: f'{v:.1f}x')} |\n"
        f"| CPU per received message: NatsBroker vs nats-py callback | "
        f"{fmt(s['gyre_us'], lambda v: f'{v:.2f} us')} | "
        f"{fmt(s['raw_us'], lambda v: f'{v:.2f} us')} | "
        f"{fmt(s['intake_ratio'], lambda v: f'{v:.2f}x')} |\n"
        f"| deliveries per server CPU-s, two nodes vs one (N={args.n}, K={args.k}) | "
        f"{fmt(s['two_nodes'], k_fmt)} | {fmt(s['one_node'], k_fmt)} | "
        f"{fmt(ratio, lambda v: f'{v:.2f}x')} (target >= {TARGET_FANOUT_RATIO}x: "
        f"{'pass' if ok else 'FAIL'}) |\n"
        f"\nload generator: max {fmt(s['client_util'], lambda v: f'{v:.0%}')} of a core "
        f"(client-bound at >= 90%)"
    )
    return 0 if ok else 1


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.path[:0] = [str(REPO), str(REPO / "generated")]
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        if sys.argv[2] == "intake":
            asyncio.run(_child_intake(sys.argv[3], sys.argv[4]))
        else:
            asyncio.run(_child_raw_publish(sys.argv[3], int(sys.argv[4])))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pubs", type=int, default=40_000)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--conns", type=int, default=8)
    p.add_argument("--intake", type=int, default=100_000)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--k", type=int, default=300)
    args = p.parse_args()
    if args.quick:
        args.rounds, args.pubs, args.intake, args.n, args.k = 1, 10_000, 20_000, 200, 150
    sys.path[:0] = [str(REPO), str(REPO / "generated")]
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
