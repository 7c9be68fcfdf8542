#!/usr/bin/env python3
"""Delta compression and tags-filter fan-out against plain fan-out, in one server process
(docs/beyond_v4.md; issue 19's speed targets).

Processes (loopback): gyre (``python -m service``, memory engine) pinned to CPU 0, and this
script's load generator (``--loadgen``, picows clients speaking the JSON client protocol)
pinned to CPU 1.  Four groups of ``--n`` subscribers stay connected on four channels:

* ``plain``  - namespace ``doc`` (history, forced positioning, ``delta_publish``), subscribe
  without ``delta``: v4 fan-out of every version, full;
* ``delta``  - the same namespace, subscribe with ``delta: "fossil"``: the first publication
  full, then fossil deltas (computed once per publication, shared);
* ``tagsplain`` - namespace ``quotes``, no filter;
* ``tags``   - the same namespace, ``--filters`` (10) distinct tags filters spread over the
  subscribers, every one matching every publication (so deliveries equal ``tagsplain``'s and
  the filters are pure overhead).

Publications: ``--k`` versions of a ~4 KB JSON document changing by ~1 % each
(``tests/delta_docs.py``) for ``plain``/``delta``, and small tagged ones for the tags groups;
one ``POST /api`` publish per request, one request in flight.  A round runs every group once
(order alternating); the first round is a warm-up.  Per group: deliveries per server
CPU-second (``/proc/<pid>/stat``) and WebSocket payload bytes received per delivery.
Ratios (``delta/plain``, ``tags/tagsplain``) per round, summarised as median (min-max), with
the targets delta >= 0.8x deliveries/CPU-s and <= 15 % bytes, tags >= 0.8x.  The in-process
cost of one delta (``fossil.create``) and of one plain JSON + Protobuf encode of the same
document is printed too.  A run whose load generator used >= 90 % of its core is flagged.

    .venv/bin/python bench/delta_bench.py            # n=1000, k=100, 1 warm-up + 3 rounds
    .venv/bin/python bench/delta_bench.py --quick    # n=200, k=30, 1 round
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from fanout import free_port, log, pinned, stop, wait_port  # noqa: E402

SECRET = "delta-bench-secret-0123456789abcdef"
API_KEY = "delta-bench-api-key"
GROUPS = ("plain", "delta", "tagsplain", "tags")
CLIENT_BOUND = 0.9


def server_config(port: int) -> dict[str, Any]:
    history = {"history_size": 10, "history_ttl": "300s"}
    return {
        "token_hmac_secret_key": SECRET,
        "api_key": API_KEY,
        "address": "127.0.0.1",
        "port": port,
        "ping_interval": "300s",
        "pong_timeout": "200s",
        "client_queue_max_size": 64 * 1024 * 1024,
        "log_level": "error",
        "namespaces": [
            {
                "name": "doc",
                "allowed_delta_types": ["fossil"],
                "delta_publish": True,
                "force_positioning": True,
                "allow_subscribe_for_client": True,
                **history,
            },
            {
                "name": "quotes",
                "allow_tags_filter": True,
                "force_positioning": True,
                "allow_subscribe_for_client": True,
                **history,
            },
        ],
    }


def channel_of(group: str) -> str:
    return ("doc:" if group in ("plain", "delta") else "quotes:") + group


def filters(count: int) -> list[dict[str, Any]]:
    """``count`` distinct filters, each matching every benchmark publication."""
    return [
        {
            "op": "and",
            "nodes": [
                {"key": "region", "cmp": "in", "vals": ["eu", f"r{i}"]},
                {"key": "price", "cmp": "gte", "val": str(i)},
            ],
        }
        for i in range(count)
    ]


# --- load generator (child process) ----------------------------------------------------------


async def loadgen(args: argparse.Namespace) -> None:
    import aiohttp
    import jwt
    import orjson
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    from tests.delta_docs import versions

    class Group:
        def __init__(self) -> None:
            self.msgs = 0
            self.bytes = 0
            self.target = 1 << 62
            self.done: asyncio.Future[None] | None = None

    class Client(WSListener):
        def __init__(self, group: Group, hello: bytes, ready: asyncio.Future[None]) -> None:
            self.group, self.hello, self.ready = group, hello, ready

        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(WSMsgType.TEXT, self.hello)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            data = frame.get_payload_as_bytes()
            if not self.ready.done():
                if b'"id":2' in data:
                    if b'"error"' in data:
                        self.ready.set_exception(RuntimeError(data.decode()))
                    else:
                        self.ready.set_result(None)
                return
            g = self.group
            g.msgs += data.count(b'{"push":')
            g.bytes += len(data)
            if g.msgs >= g.target and g.done is not None and not g.done.done():
                g.done.set_result(None)

    token = jwt.encode({"sub": "bench"}, SECRET, algorithm="HS256")
    loop = asyncio.get_running_loop()
    groups = {name: Group() for name in GROUPS}
    flts = filters(args.filters)
    sem = asyncio.Semaphore(200)
    keep: list[WSTransport] = []

    async def connect(name: str, i: int) -> None:
        sub: dict[str, Any] = {
            "channel": ("doc:" if name in ("plain", "delta") else "quotes:") + name
        }
        if name == "delta":
            sub["delta"] = "fossil"
        if name == "tags":
            sub["tf"] = flts[i % len(flts)]
        hello = orjson.dumps({"id": 1, "connect": {"token": token}}) + b"\n"
        hello += orjson.dumps({"id": 2, "subscribe": sub})
        async with sem:
            ready: asyncio.Future[None] = loop.create_future()
            transport, _ = await ws_connect(
                lambda: Client(groups[name], hello, ready), args.url, enable_auto_pong=True
            )
            keep.append(transport)
            await ready

    await asyncio.gather(*(connect(name, i) for name in GROUPS for i in range(args.n)))
    docs = versions(args.k * (args.rounds + 1) + 1, size=4096)
    doc_iter = iter(docs)
    seq = 0
    headers = {"Authorization": f"apikey {API_KEY}", "Content-Type": "application/json"}

    def body(name: str) -> bytes:
        nonlocal seq
        seq += 1
        if name in ("plain", "delta"):
            data = next(doc_iter)
            tags = None
        else:
            data = orjson.dumps({"i": seq, "pad": "x" * 64})
            tags = {"region": "eu", "price": "100"}
        params: dict[str, Any] = {"channel": channel_of(name)}
        if tags:
            params["tags"] = tags
        head = orjson.dumps({"method": "publish", "params": params})
        return head[:-2] + b',"data":' + data + b"}}"

    def cpu() -> float:
        with open(f"/proc/{args.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for rnd in range(args.rounds + 1):
            order = GROUPS if rnd % 2 == 0 else tuple(reversed(GROUPS))
            for name in order:
                g = groups[name]
                if name in ("plain", "delta"):  # both get this round's same documents
                    doc_iter = iter(docs[rnd * args.k : (rnd + 1) * args.k])
                bodies = [body(name) for _ in range(args.k)]
                g.done = loop.create_future()
                m0, b0 = g.msgs, g.bytes
                g.target = m0 + args.k * args.n
                s0, c0, t0 = cpu(), time.process_time(), time.perf_counter()
                for b in bodies:
                    async with session.post(args.api, data=b, headers=headers) as r:
                        await r.read()
                await asyncio.wait_for(g.done, args.timeout)
                wall = time.perf_counter() - t0
                srv, cli = cpu() - s0, time.process_time() - c0
                n = g.msgs - m0
                print(
                    json.dumps(
                        {
                            "kind": "run",
                            "round": rnd - 1,
                            "warmup": rnd == 0,
                            "group": name,
                            "deliveries": n,
                            "server_cpu_s": round(srv, 3),
                            "deliveries_per_server_cpu_s": round(n / srv) if srv > 0 else 0,
                            "bytes_per_delivery": round((g.bytes - b0) / n, 1),
                            "wall_s": round(wall, 3),
                            "client_util": round(cli / wall, 3),
                        }
                    ),
                    flush=True,
                )
    os._exit(0)


# --- orchestration -----------------------------------------------------------------------------


def encode_costs(k: int) -> dict[str, float]:
    """In-process microseconds per publication: one delta, one plain JSON + Protobuf encode."""
    from service.core.engine import Publication
    from service.core.wire import JSON_REPLY, PB_REPLY, encoded_publication
    from service.protocol import fossil
    from tests.delta_docs import versions

    docs = versions(k + 1, size=4096)

    def best(fn: Any) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) / k * 1e6

    def deltas() -> None:
        for a, b in itertools.pairwise(docs):
            fossil.create(a, b, len(b) - 1)

    def plain() -> None:
        for i, d in enumerate(docs[1:]):
            enc = encoded_publication("doc:x", Publication(d, offset=i + 1))
            enc.get(JSON_REPLY)
            enc.get(PB_REPLY)

    return {"fossil_create_us": round(best(deltas), 1), "plain_encode_us": round(best(plain), 1)}


def median_range(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--filters", type=int, default=10)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", default="", help=argparse.SUPPRESS)
    ap.add_argument("--api", default="", help=argparse.SUPPRESS)
    ap.add_argument("--pid", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.n, args.k, args.rounds = 200, 30, 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.loadgen:
        import uvloop

        uvloop.install()
        asyncio.run(loadgen(args))
        return 0
    costs = encode_costs(50)
    print(json.dumps({"kind": "encode", **costs}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cfg = Path(tmp) / "config.json"
        cfg.write_text(json.dumps(server_config(port)))
        cmd, preexec = pinned(0, [sys.executable, "-m", "service", "-c", str(cfg)])
        server = subprocess.Popen(cmd, cwd=REPO, preexec_fn=preexec, stderr=subprocess.PIPE)
        try:
            if not wait_port(port, server, 30.0):
                raise RuntimeError("gyre did not start")
            log(f"gyre pid {server.pid} port {port}; {args.n} subscribers per group")
            gen_cmd, gen_preexec = pinned(
                1,
                [
                    sys.executable,
                    str(Path(__file__)),
                    "--loadgen",
                    "--url",
                    f"ws://127.0.0.1:{port}/connection/websocket",
                    "--api",
                    f"http://127.0.0.1:{port}/api",
                    "--pid",
                    str(server.pid),
                    "--n",
                    str(args.n),
                    "--k",
                    str(args.k),
                    "--rounds",
                    str(args.rounds),
                    "--filters",
                    str(args.filters),
                    "--timeout",
                    str(args.timeout),
                ],
            )
            out = subprocess.run(
                gen_cmd,
                cwd=REPO,
                preexec_fn=gen_preexec,
                capture_output=True,
                text=True,
                timeout=args.timeout * 20,
            )
        finally:
            stop(server)
    runs = [json.loads(ln) for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not runs:
        print(out.stderr[-3000:], file=sys.stderr)
        return 1
    for r in runs:
        print(json.dumps(r))
    measured = [r for r in runs if not r["warmup"]]
    by = {(r["round"], r["group"]): r for r in measured}
    rounds = sorted({r["round"] for r in measured})
    cpu_ratio = [
        by[(i, "delta")]["deliveries_per_server_cpu_s"]
        / by[(i, "plain")]["deliveries_per_server_cpu_s"]
        for i in rounds
    ]
    bytes_ratio = [
        by[(i, "delta")]["bytes_per_delivery"] / by[(i, "plain")]["bytes_per_delivery"]
        for i in rounds
    ]
    tags_ratio = [
        by[(i, "tags")]["deliveries_per_server_cpu_s"]
        / by[(i, "tagsplain")]["deliveries_per_server_cpu_s"]
        for i in rounds
    ]
    bound = any(r["client_util"] >= CLIENT_BOUND for r in measured)
    lines = [
        "",
        f"n={args.n} subscribers per group, k={args.k} publications per group and round, "
        f"{len(rounds)} measured round(s)",
        "",
        "| metric | median (min-max) | target | pass |",
        "|---|---|---|---|",
        f"| delta / plain deliveries per server CPU-s | {median_range(cpu_ratio)} | >= 0.8 | "
        f"{'yes' if statistics.median(cpu_ratio) >= 0.8 else 'no'} |",
        f"| delta / plain bytes per delivery | {median_range(bytes_ratio)} | <= 0.15 | "
        f"{'yes' if statistics.median(bytes_ratio) <= 0.15 else 'no'} |",
        f"| tags (10 filters) / plain deliveries per server CPU-s | {median_range(tags_ratio)} | "
        f">= 0.8 | {'yes' if statistics.median(tags_ratio) >= 0.8 else 'no'} |",
        "",
        "per publication, in process: fossil delta of a 4 KB document "
        f"{costs['fossil_create_us']} us, plain JSON + Protobuf encode "
        f"{costs['plain_encode_us']} us",
    ]
    for g in GROUPS:
        vals = [by[(i, g)]["deliveries_per_server_cpu_s"] for i in rounds]
        byts = [by[(i, g)]["bytes_per_delivery"] for i in rounds]
        lines.append(
            f"{g}: {statistics.median(vals):,.0f} deliveries per server CPU-s, "
            f"{statistics.median(byts):,.0f} bytes per delivery"
        )
    if bound:
        lines.append("WARNING: the load generator used >= 90% of its core in some run")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
