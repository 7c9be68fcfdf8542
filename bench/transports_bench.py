#!/usr/bin/env python3
"""Fan-out of the SockJS and WebTransport transports against same-run floors, and the CPU
cost of WebSocket permessage-deflate (docs/transports.md).

Processes as in ``bench/fanout.py`` (server pinned to CPU 0, load generator to CPU 1, all
loopback, killed by PID, every wait bounded).  Metric: deliveries per server CPU-second over
the window from the first ``POST /api`` to the last delivery; one publication per request,
one request in flight, so every publication is broadcast in its own loop tick.

* **sockjs**: ``--n`` subscribers over the SockJS websocket transport
  (``bench/loadgen.py --sockjs``).  Floor: ``bench/peers/sockjs_floor.py``, a bare aiohttp
  server writing one pre-encoded SockJS frame (``a["<push>"]`` in a text frame) per
  subscriber with ``transport.write``.  Target >= 0.7x.
* **webtransport**: ``--wt-n`` WebTransport sessions, one QUIC connection each
  (``bench/wt_loadgen.py``, aioquic).  Floor: ``bench/peers/wt_floor.py``, aioquic writing
  one pre-encoded frame to each stream (``send_stream_data`` + ``transmit``).  Target >= 0.7x.
* **deflate**: WebSocket fan-out with a client that offers permessage-deflate, gyre with
  ``websocket_compression`` off and on (``--pad`` bytes of payload padding; run twice, small
  and large): server CPU per delivery, on against off.

Rounds interleave the two servers of each pair (alternating which goes first); the first
``--warmup`` round is discarded; ratios are per round, summarised as median (min-max).

    .venv/bin/python bench/transports_bench.py           # ~3 min
    .venv/bin/python bench/transports_bench.py --quick   # ~1 min
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fanout import (
    API_KEY,
    BENCH,
    CLIENT_BOUND,
    REPO,
    SECRET,
    free_port,
    log,
    pinned,
    run_json,
    stop,
    wait_port,
)

TARGET = 0.7


def gyre_config(port: int, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "token_hmac_secret_key": SECRET,
        "api_key": API_KEY,
        "address": "127.0.0.1",
        "port": port,
        "allow_subscribe_for_client": True,
        "ping_interval": "300s",
        "pong_timeout": "200s",
        "client_queue_max_size": 10 * 1024 * 1024,
        "log_level": "error",
    }
    cfg.update(extra)
    return cfg


@contextmanager
def server(cmd: list[str], port: int, cpu: int | None, name: str) -> Iterator[int]:
    """Run ``cmd`` pinned to ``cpu`` until the block ends; yields its PID."""
    full, preexec = pinned(cpu, cmd)
    proc = subprocess.Popen(
        full, cwd=REPO, preexec_fn=preexec, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        if not wait_port(port, proc, 30.0):
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"{name} did not start: {err}")
        time.sleep(0.3)
        yield proc.pid
    finally:
        stop(proc)


def gyre_cmd(workdir: Path, port: int, **extra: Any) -> list[str]:
    path = workdir / f"gyre-{port}.json"
    path.write_text(json.dumps(gyre_config(port, **extra)))
    return [sys.executable, "-m", "service", "-c", str(path)]


def run_client(cmd: list[str], cpu: int | None, timeout: float) -> dict[str, Any]:
    out = run_json(cmd, cpu, timeout * 2 + 30)
    if out.get("lost"):
        out["error"] = f"{out['lost']} deliveries missing"
    return out


def ws_client(
    url: str, api: str, pid: int, token: str, args: argparse.Namespace, *extra: str
) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "loadgen.py"),
        "fanout",
        "--url",
        url,
        "--api",
        api,
        "--api-key",
        API_KEY,
        "--token",
        token,
        "--pid",
        str(pid),
        "--n",
        str(args.n),
        "--k",
        str(args.k),
        "--timeout",
        str(args.timeout),
        *extra,
    ]


def wt_client(port: int, pid: int, token: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "wt_loadgen.py"),
        "--port",
        str(port),
        "--api-key",
        API_KEY,
        "--token",
        token,
        "--pid",
        str(pid),
        "--n",
        str(args.wt_n),
        "--k",
        str(args.wt_k),
        "--timeout",
        str(args.timeout),
    ]


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{med:.2f}x ({min(values):.2f}-{max(values):.2f})"


def kfmt(v: float) -> str:
    return f"{v / 1000:.1f}k"


def deflate_micro() -> list[str]:
    """In-process: CPU of compressing one message (what per-subscriber compression, as
    aiohttp's own writer does it, would add to every delivery; gyre pays it once per
    publication)."""
    import timeit

    import orjson

    from service.transports.websocket import Deflater

    out = []
    d = Deflater(level=1, min_size=0)
    for pad in (64, 1024):
        push = orjson.dumps({"push": {"channel": "bench", "pub": {"data": {"pad": "x" * pad}}}})
        n = 20000
        us = timeit.timeit(lambda: d.frame(0x1, push), number=n) / n * 1e6  # noqa: B023
        out.append(
            f"| one permessage-deflate compression of a {len(push)}-byte push (in-process) | "
            f"{us:.2f} us | paid once per publication (shared frame), not per delivery | | |"
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="SockJS / WebSocket subscribers")
    ap.add_argument("--k", type=int, default=300, help="publications (SockJS, deflate)")
    ap.add_argument("--wt-n", type=int, default=100, help="WebTransport sessions")
    ap.add_argument("--wt-k", type=int, default=200, help="publications (WebTransport)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--only", choices=("sockjs", "webtransport", "deflate"), action="append")
    ap.add_argument("--quick", action="store_true", help="N=200, K=100, 25 sessions, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.n, args.k, args.wt_n, args.wt_k, args.rounds = 200, 100, 25, 100, 1
    only = set(args.only or ("sockjs", "webtransport", "deflate"))
    srv_cpu, cli_cpu = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    if cli_cpu is not None:
        os.sched_setaffinity(0, {cli_cpu})
    sys.path.insert(0, str(REPO))
    from service.auth import generate_token

    token = generate_token(secret=SECRET, user="bench", ttl=24 * 3600)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(json.dumps({"kind": "env", "commit": commit, **vars(args)}), flush=True)
    rows: list[str] = []
    seen_compressed: list[bool] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="transports-bench-") as tmp:
        workdir = Path(tmp)

        def record(scenario: str, impl: str, rnd: int, res: dict[str, Any]) -> None:
            nonlocal failed
            res.update(kind="run", scenario=scenario, impl=impl, round=rnd)
            res["client_bound"] = res.get("client_util", 0) >= CLIENT_BOUND
            if scenario.startswith("deflate") and impl == "on" and "error" not in res:
                seen_compressed.append(res.get("compressed_frames", 0) > 0)
            failed |= "error" in res
            print(json.dumps(res), flush=True)
            log(
                f"{scenario} {impl} round {rnd}: "
                f"{kfmt(res.get('deliveries_per_server_cpu_s', 0))}/srv-CPU-s, "
                f"client {res.get('client_util')} {res.get('error', '')}"
            )

        def pairs(
            scenario: str, a: str, b: str, measure: Any, key: str = "deliveries_per_server_cpu_s"
        ) -> tuple[list[float], dict[str, list[float]], list[bool]]:
            ratios: list[float] = []
            values: dict[str, list[float]] = {a: [], b: []}
            bound: list[bool] = []
            for rnd in range(args.warmup + args.rounds):
                got: dict[str, dict[str, Any]] = {}
                for impl in (a, b) if rnd % 2 == 0 else (b, a):
                    got[impl] = measure(impl)
                    record(scenario, impl, rnd - args.warmup, got[impl])
                    time.sleep(0.5)
                if rnd < args.warmup or any("error" in r for r in got.values()):
                    continue
                ratios.append(got[a][key] / got[b][key])
                for impl in (a, b):
                    values[impl].append(got[impl][key])
                    bound.append(bool(got[impl]["client_bound"]))
            return ratios, values, bound

        if "sockjs" in only:
            pg, pf = free_port(), free_port()
            g_cmd = gyre_cmd(workdir, pg, sockjs=True)
            f_cmd = [sys.executable, str(BENCH / "peers" / "sockjs_floor.py")]
            f_cmd += ["--port", str(pf), "--api-key", API_KEY]
            with (
                server(g_cmd, pg, srv_cpu, "gyre") as gpid,
                server(f_cmd, pf, srv_cpu, "floor") as fpid,
            ):
                ends = {"gyre": (pg, gpid), "floor": (pf, fpid)}

                def sockjs(impl: str) -> dict[str, Any]:
                    port, pid = ends[impl]
                    url = f"ws://127.0.0.1:{port}/connection/sockjs/000/{{session}}/websocket"
                    api = f"http://127.0.0.1:{port}/api"
                    cmd = ws_client(url, api, pid, token, args, "--sockjs")
                    return run_client(cmd, cli_cpu, args.timeout)

                r, v, b = pairs("sockjs", "gyre", "floor", sockjs)
            rows.append(
                f"| SockJS (websocket transport) fan-out, {args.n} subscribers, one message per "
                f"frame (deliveries per server CPU-s) | {kfmt(statistics.median(v['gyre']))} | "
                f"pre-encoded SockJS frame, raw aiohttp write: "
                f"{kfmt(statistics.median(v['floor']))} | {summary(r)}"
                f"{' ⚠ client-bound' if any(b) else ''} | >= {TARGET}x |"
                if r
                else "| SockJS fan-out | failed | | | |"
            )

        if "webtransport" in only:
            from tests.tls_cert import write_self_signed

            cert, key, _ = write_self_signed(workdir / "tls")
            pg, pf = free_port(), free_port()
            tls = {"tls": True, "tls_cert": str(cert), "tls_key": str(key)}
            g_cmd = gyre_cmd(workdir, pg, http3=True, webtransport=True, **tls)
            f_cmd = [sys.executable, str(BENCH / "peers" / "wt_floor.py"), "--port", str(pf)]
            f_cmd += ["--api-key", API_KEY, "--cert", str(cert), "--key", str(key)]
            with (
                server(g_cmd, pg, srv_cpu, "gyre") as gpid,
                server(f_cmd, pf, srv_cpu, "floor") as fpid,
            ):
                ends = {"gyre": (pg, gpid), "floor": (pf, fpid)}

                def wt(impl: str) -> dict[str, Any]:
                    port, pid = ends[impl]
                    return run_client(wt_client(port, pid, token, args), cli_cpu, args.timeout)

                r, v, b = pairs("webtransport", "gyre", "floor", wt)
            rows.append(
                f"| WebTransport fan-out, {args.wt_n} sessions, one message per write "
                f"(deliveries per server CPU-s) | {kfmt(statistics.median(v['gyre']))} | "
                f"aioquic writing a pre-encoded frame to each stream: "
                f"{kfmt(statistics.median(v['floor']))} | {summary(r)}"
                f"{' ⚠ client-bound' if any(b) else ''} | >= {TARGET}x |"
                if r
                else "| WebTransport fan-out | failed | | | |"
            )

        if "deflate" in only:
            for pad in (64, 1024):
                p_on, p_off = free_port(), free_port()
                on_cmd = gyre_cmd(workdir, p_on, websocket_compression=True)
                off_cmd = gyre_cmd(workdir, p_off)
                with (
                    server(on_cmd, p_on, srv_cpu, "gyre-deflate") as on_pid,
                    server(off_cmd, p_off, srv_cpu, "gyre") as off_pid,
                ):
                    ends = {"on": (p_on, on_pid), "off": (p_off, off_pid)}

                    def ws(
                        impl: str, ends: dict[str, tuple[int, int]] = ends, pad: int = pad
                    ) -> dict[str, Any]:
                        port, pid = ends[impl]
                        url = f"ws://127.0.0.1:{port}/connection/websocket"
                        api = f"http://127.0.0.1:{port}/api"
                        extra = ("--deflate", "--pad", str(pad))
                        return run_client(
                            ws_client(url, api, pid, token, args, *extra), cli_cpu, args.timeout
                        )

                    r, v, b = pairs(f"deflate-pad{pad}", "on", "off", ws)
                compressed = "yes" if all(seen_compressed) else "NO"
                if not r:
                    rows.append(f"| permessage-deflate, {pad}-byte padding | failed | | | |")
                    continue
                us_on = 1e6 / statistics.median(v["on"])
                us_off = 1e6 / statistics.median(v["off"])
                rows.append(
                    f"| WebSocket fan-out with permessage-deflate, {args.n} subscribers, "
                    f"~{pad + 40}-byte publications: server CPU per delivery | "
                    f"{us_on:.2f} us | compression off: {us_off:.2f} us | "
                    f"{us_on / us_off:.2f}x the CPU{' ⚠ client-bound' if any(b) else ''}"
                    f", compressed frames: {compressed} | "
                    f"report |"
                )
    if "deflate" in only:
        rows.extend(deflate_micro())
    header = "| scenario | gyre | floor in the same run | ratio (min-max) | target |"
    table = "\n".join([header, "|---|---|---|---|---|", *rows])
    print(table, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
