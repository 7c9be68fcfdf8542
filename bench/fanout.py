#!/usr/bin/env python3
"""WebSocket fan-out and idle-memory benchmark of gyre against a raw floor peer
(docs/performance.md#method: one message per frame, bursts, idle memory).

Processes (all loopback, started and killed by PID, every wait bounded):

* the server under test, pinned to CPU 0 with ``taskset -c 0``: gyre as a process
  (``python -m service -c cfg.json``, memory engine, Centrifugo v4 JSON config) or the raw
  floor peer ``bench/peers/raw_floor.py`` (aiohttp + uvloop, one pre-encoded frame written
  with ``transport.write`` per subscriber per publication);
* the load generator ``bench/loadgen.py`` pinned to CPU 1: picows clients speaking the v4
  JSON client protocol (connect + subscribe), publications through the real HTTP API
  ``POST /api`` (``Authorization: apikey``), one request in flight.

Scenarios:

* **A** (one message per frame): N subscribers on one channel, K publications, one publish
  command per ``/api`` request; the next request leaves when the reply to the previous one
  arrived, so every publication is broadcast and flushed in its own loop tick.  The observed
  messages per frame (1.0) is reported as a check.
* **B** (bursts): the same, ``--burst`` (16) publish commands per ``/api`` body, so gyre's
  writer coalesces them into one frame per connection.  The floor coalesces the same way: the
  16 pushes of a body are joined into one pre-encoded frame, written once per subscriber.
* **L1** / **LB** (latency): the same subscribers, publications paced at ``--lat-rate`` (50)
  bodies per second of one publication (L1), and ``--lat-burst-rate`` (10) bodies per second
  of ``--burst`` publications (LB); every 10th client measures each push's latency from the
  time its body left the load generator (``loadgen.py latency``): p50 and p99, gyre against
  the floor (target for LB: p50 <= 1.5x the floor's).
* **C** (idle memory): a fresh server process, 50 warm-up clients, then ``--idle-n`` (5,000)
  connected and subscribed clients; server VmRSS (``/proc/<pid>/status``) delta per
  connection.  The floor peer here is a bare aiohttp WebSocket server (an ``async for msg in
  ws`` loop per connection, canned connect/subscribe replies).

Metric: deliveries per server CPU-second (``/proc/<pid>/stat`` utime+stime over the window
from the first API request to the last delivery counted by the client).  Also reported:
deliveries/s (wall), client CPU (a run is flagged client-bound at >= 90% of a core) and
frames.  Rounds interleave A(gyre, floor), B(gyre, floor), alternating which server goes
first; the first ``--warmup`` round(s) are discarded; per-round gyre/floor ratios are
summarised as median (min-max).  Output: JSON lines on stdout, then a markdown table with
pass/fail against the targets (A and B >= 0.7x floor, LB p50 <= 1.5x floor, C <= 20 KB RSS
per idle connection).  Progress goes to stderr.

    .venv/bin/python bench/fanout.py            # N=1000, K=300, B=640 in bursts of 16,
                                                # 1 warm-up + 5 rounds, C with 5,000 clients
    .venv/bin/python bench/fanout.py --quick    # N=200, K=50, 1 round, C with 500 (< 60 s)
    .venv/bin/python bench/fanout.py --gyre-ref HEAD   # service/ of a commit, not the tree

The env line records the gyre commit and any uncommitted service/ files; ``--gyre-ref``
(exported with ``git archive``) keeps a run attributable while the working tree changes.
"""

from __future__ import annotations

import argparse
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

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
SECRET = "fanout-bench-secret-0123456789abcdef"
API_KEY = "fanout-bench-api-key"
CHANNEL = "bench"
TARGET_A_RATIO = 0.7
TARGET_B_PER_CPU = 300_000
TARGET_LB_P50 = 1.5
TARGET_C_KB = 20.0
CLIENT_BOUND = 0.9
GYRE_ROOT = REPO  # --gyre-root: the checkout whose ``service`` package the gyre server runs

FLOOR_DEFINITION = (
    "raw floor = aiohttp+uvloop server; per publication the push JSON is encoded once and "
    "framed once, then transport.write(frame) once per subscriber; the publications of one "
    "body into one channel are coalesced: joined into one frame, written once per subscriber. "
    "Idle-memory floor = the same peer as a bare aiohttp WebSocket server."
)


def log(msg: str) -> None:
    print(f"[fanout {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def pinned(cpu: int | None, cmd: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """Command line pinned to ``cpu`` (taskset when available, else sched_setaffinity)."""
    if cpu is None:
        return cmd, None
    if shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *cmd], None
    return cmd, lambda: os.sched_setaffinity(0, {cpu})


def run_json(cmd: list[str], cpu: int | None, timeout: float) -> dict[str, Any]:
    """Run a load generator pinned to ``cpu``; the JSON object of its last stdout line, or
    ``{"error": ...}`` when it fails, prints nothing or takes longer than ``timeout`` s."""
    full, preexec = pinned(cpu, cmd)
    try:
        res = subprocess.run(
            full, cwd=REPO, preexec_fn=preexec, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": "load generator timed out"}
    lines = res.stdout.decode().strip().splitlines()
    if res.returncode != 0 or not lines:
        return {"error": f"load generator failed ({res.returncode}): {res.stderr.decode()[-800:]}"}
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Server:
    """A server process under test (gyre or the floor peer) on a loopback port."""

    def __init__(self, impl: str, proc: subprocess.Popen[bytes], port: int) -> None:
        self.impl = impl
        self.proc = proc
        self.port = port

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


PROMETHEUS = False  # --prometheus: measure the fan-out with metrics collection on


def gyre_config(port: int) -> dict[str, Any]:
    return {
        "prometheus": PROMETHEUS,
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


def start_server(impl: str, cpu: int | None, workdir: Path) -> Server:
    py = sys.executable
    port = free_port()
    if impl == "floor":
        variants = [
            [py, str(BENCH / "peers" / "raw_floor.py"), "--port", str(port), "--api-key", API_KEY]
        ]
    else:
        cfg = workdir / f"gyre-{port}.json"
        cfg.write_text(json.dumps(gyre_config(port)))
        fallback = (
            "import sys; from service.config import load_config; from service.app import serve; "
            "cfg, _ = load_config(sys.argv[1]); raise SystemExit(serve(cfg))"
        )
        variants = [[py, "-m", "service", "-c", str(cfg)], [py, "-c", fallback, str(cfg)]]
    for cmd in variants:
        full, preexec = pinned(cpu, cmd)
        root = GYRE_ROOT if impl == "gyre" else REPO
        env = dict(os.environ)
        if impl == "gyre":  # ``service`` is imported from --gyre-root (cwd and PYTHONPATH)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(root), env.get("PYTHONPATH", "")) if p
            )
        proc = subprocess.Popen(
            full,
            cwd=root,
            env=env,
            preexec_fn=preexec,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if wait_port(port, proc, 30.0):
            log(f"{impl} started: pid {proc.pid}, port {port}")
            return Server(impl, proc, port)
        stop(proc)
        err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
        log(f"{impl} did not start with {cmd[:3]}: {err.strip()}")
    raise RuntimeError(f"cannot start {impl}")


@contextmanager
def running(impl: str, cpu: int | None, workdir: Path) -> Iterator[Server]:
    server = start_server(impl, cpu, workdir)
    try:
        yield server
    finally:
        stop(server.proc)


def loadgen(
    mode: str, server: Server, cpu: int | None, token: str, extra: list[str], timeout: float
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(BENCH / "loadgen.py"),
        mode,
        "--url",
        server.ws_url,
        "--api",
        server.api_url,
        "--api-key",
        API_KEY,
        "--token",
        token,
        "--channel",
        CHANNEL,
        "--pid",
        str(server.pid),
        "--timeout",
        str(timeout),
        *extra,
    ]
    return run_json(cmd, cpu, timeout * 2 + 30)


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt_k(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def fmt_range(s: dict[str, float] | None, f: Callable[[float], str]) -> str:
    if s is None:
        return "n/a"
    if s["min"] == s["max"]:
        return f(s["median"])
    return f"{f(s['median'])} ({f(s['min'])}-{f(s['max'])})"


def export_ref(ref: str, dest: Path) -> str:
    """Export ``service/`` and ``generated/`` (proto stubs) of git ``ref`` into ``dest``.

    Returns the short commit hash.
    """
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "service", "generated"],
        capture_output=True,
        check=True,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        return run(Path(tmp))


def run(workdir: Path) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="subscribers (A, B)")
    ap.add_argument("--k", type=int, default=300, help="publications in scenario A")
    ap.add_argument("--kb", type=int, default=640, help="publications in scenario B")
    ap.add_argument("--burst", type=int, default=16, help="publish commands per /api body in B")
    ap.add_argument("--lat-k", type=int, default=300, help="publications in L1 (0 = skip L)")
    ap.add_argument("--lat-rate", type=float, default=50.0, help="L1: bodies per second")
    ap.add_argument("--lat-kb", type=int, default=640, help="publications in LB")
    ap.add_argument("--lat-burst-rate", type=float, default=10.0, help="LB: bodies per second")
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds")
    ap.add_argument("--warmup", type=int, default=1, help="discarded rounds before them")
    ap.add_argument("--idle-n", type=int, default=5000, help="idle connections in C (0 = skip)")
    ap.add_argument("--idle-rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="bound of each client phase, s")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="stop starting new runs")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--prometheus", action="store_true", help="run gyre with prometheus on")
    ap.add_argument("--json-out", help="also write the JSON lines to this file")
    ap.add_argument("--md-out", help="also write the markdown table to this file")
    src = ap.add_mutually_exclusive_group()
    src.add_argument(
        "--gyre-ref",
        help="benchmark service/ as of this git commit (exported with git archive into a "
        "temporary directory, immune to concurrent edits of the working tree)",
    )
    src.add_argument(
        "--gyre-root",
        default=str(REPO),
        help="directory whose service/ package the gyre server runs (default: this checkout)",
    )
    ap.add_argument(
        "--only", default="", help="comma-separated scenarios to run (A,B,L1,LB,C; default all)"
    )
    ap.add_argument("--quick", action="store_true", help="N=200, K=50, KB=160, 1 round, C 500")
    args = ap.parse_args()
    global PROMETHEUS
    PROMETHEUS = args.prometheus
    if args.quick:
        args.n, args.k, args.kb, args.rounds, args.idle_n = 200, 50, 160, 1, 500
        args.lat_k, args.lat_kb = 100, 160
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    if only:
        if "C" not in only:
            args.idle_n = 0
        if not only & {"L1", "LB"}:
            args.lat_k = 0

    started = time.monotonic()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the children
    need = max(args.n, args.idle_n + 50) + 64
    if need > hard:
        log(f"ulimit -n hard limit {hard} < {need}: lower --n / --idle-n")
        return 2
    ncpu = os.cpu_count() or 1
    srv_cpu: int | None = args.server_cpu
    cli_cpu: int | None = args.client_cpu
    if ncpu < 2:
        log("fewer than 2 CPUs: not pinning (server and client share the CPU)")
        srv_cpu = cli_cpu = None
    else:
        os.sched_setaffinity(0, {args.client_cpu})  # keep this orchestrator off the server core

    sys.path.insert(0, str(REPO))
    from service.auth import generate_token

    token = generate_token(secret=SECRET, user="bench", ttl=24 * 3600)
    records: list[dict[str, Any]] = []

    def emit(rec: dict[str, Any]) -> None:
        records.append(rec)
        print(json.dumps(rec), flush=True)

    global GYRE_ROOT
    dirty_files: list[str] = []
    if args.gyre_ref:
        GYRE_ROOT = workdir / "gyre-src"
        try:
            commit = export_ref(args.gyre_ref, GYRE_ROOT)
        except subprocess.CalledProcessError as e:
            log(f"cannot export --gyre-ref {args.gyre_ref}: {e.stderr or e}")
            return 2
    else:
        GYRE_ROOT = Path(args.gyre_root).resolve()
        git = ["git", "-C", str(GYRE_ROOT)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        # uncommitted changes under service/ (the figures then belong to no commit)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "service"], capture_output=True, text=True
        ).stdout.split("\n")
        dirty_files = [line[3:] for line in dirty if line.strip()]
    if not (GYRE_ROOT / "service" / "__init__.py").is_file():
        log(f"{GYRE_ROOT} has no service/ package")
        return 2
    emit(
        {
            "kind": "env",
            "python": platform.python_version(),
            "kernel": platform.release(),
            "cpus": ncpu,
            "server_cpu": srv_cpu,
            "client_cpu": cli_cpu,
            "nofile": hard,
            "gyre_root": str(GYRE_ROOT),
            "commit": commit or None,
            "service_uncommitted": dirty_files,
            "n": args.n,
            "k": args.k,
            "kb": args.kb,
            "burst": args.burst,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "idle_n": args.idle_n,
            "quick": args.quick,
        }
    )
    emit({"kind": "floor_definition", "text": FLOOR_DEFINITION})

    scen = {
        "A": ("fanout", ["--n", str(args.n), "--k", str(args.k), "--burst", "1"]),
        "B": ("fanout", ["--n", str(args.n), "--k", str(args.kb), "--burst", str(args.burst)]),
        "L1": (
            "latency",
            [
                "--n",
                str(args.n),
                "--k",
                str(args.lat_k),
                "--burst",
                "1",
                "--rate",
                str(args.lat_rate),
            ],
        ),
        "LB": (
            "latency",
            [
                *("--n", str(args.n), "--k", str(args.lat_kb), "--burst", str(args.burst)),
                *("--rate", str(args.lat_burst_rate)),
            ],
        ),
    }
    if not args.lat_k:
        del scen["L1"], scen["LB"]
    if only:
        scen = {k: v for k, v in scen.items() if k in only}
    truncated = False
    # --- A and B: both servers stay up for all rounds ---------------------------------
    with running("gyre", srv_cpu, workdir) as gyre, running("floor", srv_cpu, workdir) as floor:
        servers = {"gyre": gyre, "floor": floor}
        for rnd in range(args.warmup + args.rounds):
            warm = rnd < args.warmup
            order = ["gyre", "floor"] if rnd % 2 == 0 else ["floor", "gyre"]
            for scenario, (mode, extra) in scen.items():
                for impl in order:
                    if time.monotonic() - started > args.max_seconds:
                        truncated = True
                        break
                    server = servers[impl]
                    if server.proc.poll() is not None:
                        raise RuntimeError(f"{impl} server exited")
                    res = loadgen(mode, server, cli_cpu, token, extra, args.timeout)
                    res.update(
                        kind="run",
                        scenario=scenario,
                        impl=impl,
                        round=rnd - args.warmup,
                        warmup=warm,
                    )
                    if "client_util" in res:
                        res["client_bound"] = res["client_util"] >= CLIENT_BOUND
                    emit(res)
                    shape = (
                        f"p50 {res.get('p50_ms')} ms, p99 {res.get('p99_ms')} ms"
                        if mode == "latency"
                        else f"{fmt_k(res.get('deliveries_per_server_cpu_s'))}/srv-CPU-s, "
                        f"{fmt_k(res.get('deliveries_per_s'))}/s wall, "
                        f"{res.get('msgs_per_frame')} msg/frame"
                    )
                    log(
                        f"round {rnd - args.warmup}{' (warm-up)' if warm else ''} "
                        f"{scenario} {impl}: {shape}, "
                        f"client {res.get('client_util')} {res.get('error', '')}"
                    )
                    time.sleep(0.5)  # let the server finish closing the last clients
    # --- C: fresh processes per measurement ------------------------------------------
    if args.idle_n > 0:
        for rnd in range(args.idle_rounds):
            for impl in ("gyre", "floor") if rnd % 2 == 0 else ("floor", "gyre"):
                if time.monotonic() - started > args.max_seconds:
                    truncated = True
                    break
                with running(impl, srv_cpu, workdir) as server:
                    time.sleep(0.5)
                    res = loadgen(
                        "idle",
                        server,
                        cli_cpu,
                        token,
                        ["--n", str(args.idle_n), "--warm", "50", "--settle", "2"],
                        args.timeout,
                    )
                res.update(kind="run", scenario="C", impl=impl, round=rnd, warmup=False)
                emit(res)
                log(
                    f"C {impl}: {res.get('rss_per_conn_kb')} KB/conn, "
                    f"{res.get('connects_per_s')} conn/s {res.get('error', '')}"
                )

    table = report(records, args, emit, truncated, time.monotonic() - started)
    print(table, flush=True)
    if args.json_out:
        Path(args.json_out).write_text("".join(json.dumps(r) + "\n" for r in records))
    if args.md_out:
        Path(args.md_out).write_text(table + "\n")
    failed = any(r.get("error") for r in records)
    return 1 if failed else 0


def report(
    records: list[dict[str, Any]],
    args: argparse.Namespace,
    emit: Callable[[dict[str, Any]], None],
    truncated: bool,
    elapsed: float,
) -> str:
    runs = [r for r in records if r.get("kind") == "run" and not r["warmup"] and "error" not in r]

    def values(scenario: str, impl: str, key: str) -> list[float]:
        return [r[key] for r in runs if r["scenario"] == scenario and r["impl"] == impl]

    def ratios(scenario: str, key: str) -> list[float]:
        out = []
        for rnd in sorted({r["round"] for r in runs if r["scenario"] == scenario}):
            pair = {
                r["impl"]: r[key] for r in runs if r["scenario"] == scenario and r["round"] == rnd
            }
            if pair.get("gyre") and pair.get("floor"):
                out.append(pair["gyre"] / pair["floor"])
        return out

    def bound(scenario: str, impl: str) -> str:
        rs = [r for r in runs if r["scenario"] == scenario and r["impl"] == impl]
        n = sum(1 for r in rs if r.get("client_bound"))
        return f" ⚠ client-bound in {n}/{len(rs)}" if n else ""

    def mpf(scenario: str, impl: str) -> str:
        v = summarize(values(scenario, impl, "msgs_per_frame"))
        return fmt_range(v, lambda x: f"{x:.2f}")

    def shape_ok(scenario: str) -> bool:
        """A must really be one message per frame (gyre and floor); B coalesced for gyre."""
        if scenario == "A":
            return all(v == 1.0 for v in values("A", "gyre", "msgs_per_frame")) and all(
                v == 1.0 for v in values("A", "floor", "msgs_per_frame")
            )
        return all(v > 1.0 for v in values("B", "gyre", "msgs_per_frame")) and all(
            v > 1.0 for v in values("B", "floor", "msgs_per_frame")
        )

    rows: list[list[str]] = []
    summary: list[dict[str, Any]] = []
    scen_run = {r["scenario"] for r in records if r.get("kind") == "run"}
    fx = fmt_k
    ratio_fmt: Callable[[float], str] = lambda x: f"{x:.2f}x"  # noqa: E731

    for scenario, label in (("A", "A: 1 msg/frame"), ("B", f"B: bursts of {args.burst}")):
        key = "deliveries_per_server_cpu_s"
        if scenario not in scen_run:
            continue
        ours = summarize(values(scenario, "gyre", key))
        flo = summarize(values(scenario, "floor", key))
        rat = summarize(ratios(scenario, key))
        target = f"≥ {TARGET_A_RATIO}x floor"
        ok = rat is not None and rat["median"] >= TARGET_A_RATIO and shape_ok(scenario)
        rows.append(
            [
                label,
                "deliveries per server CPU-s",
                fmt_range(ours, fx),
                fmt_range(flo, fx),
                fmt_range(rat, ratio_fmt),
                target,
                "PASS" if ok else "FAIL",
            ]
        )
        summary.append(
            {
                "scenario": scenario,
                "metric": key,
                "gyre": ours,
                "floor": flo,
                "ratio": rat,
                "target": target,
                "pass": ok,
            }
        )
        key = "deliveries_per_s"
        ours_w = summarize(values(scenario, "gyre", key))
        flo_w = summarize(values(scenario, "floor", key))
        rat_w = summarize(ratios(scenario, key))
        rows.append(
            [
                label,
                "deliveries/s (wall)",
                fmt_range(ours_w, fx) + bound(scenario, "gyre"),
                fmt_range(flo_w, fx) + bound(scenario, "floor"),
                fmt_range(rat_w, ratio_fmt),
                f"info (B: ≥ {TARGET_B_PER_CPU // 1000}k/s)" if scenario == "B" else "info",
                ("PASS" if ours_w and ours_w["median"] >= TARGET_B_PER_CPU else "below")
                if scenario == "B"
                else "-",
            ]
        )
        summary.append(
            {"scenario": scenario, "metric": key, "gyre": ours_w, "floor": flo_w, "ratio": rat_w}
        )
        rows.append(
            [
                label,
                "messages per frame (check)",
                mpf(scenario, "gyre"),
                mpf(scenario, "floor"),
                "",
                "= 1.00 (no coalescing)" if scenario == "A" else "> 1 (both coalesced)",
                "ok" if shape_ok(scenario) else "INVALID",
            ]
        )

    ms: Callable[[float], str] = lambda x: f"{x:.1f} ms"  # noqa: E731
    for scenario, label in (
        ("L1", f"L1: {args.lat_rate:g} pub/s"),
        ("LB", f"LB: {args.lat_burst_rate:g} bursts of {args.burst}/s"),
    ):
        for key in ("p50_ms", "p99_ms"):
            ours_l = summarize(values(scenario, "gyre", key))
            flo_l = summarize(values(scenario, "floor", key))
            rat_l = summarize(ratios(scenario, key))
            if ours_l is None:
                continue
            gated = scenario == "LB" and key == "p50_ms"
            ok_l = rat_l is not None and rat_l["median"] <= TARGET_LB_P50
            rows.append(
                [
                    label,
                    f"latency {key[:3]} (publish to arrival)",
                    fmt_range(ours_l, ms) + bound(scenario, "gyre"),
                    fmt_range(flo_l, ms) + bound(scenario, "floor"),
                    fmt_range(rat_l, ratio_fmt),
                    f"≤ {TARGET_LB_P50}x floor" if gated else "info",
                    ("PASS" if ok_l else "FAIL") if gated else "-",
                ]
            )
            summary.append(
                {"scenario": scenario, "metric": key, "gyre": ours_l, "floor": flo_l}
                | {"ratio": rat_l}
                | ({"target": f"<= {TARGET_LB_P50}x floor", "pass": ok_l} if gated else {})
            )

    if args.idle_n > 0:
        key = "rss_per_conn_kb"
        ours_c = summarize(values("C", "gyre", key))
        flo_c = summarize(values("C", "floor", key))
        rat_c = summarize(ratios("C", key))
        ok_c = ours_c is not None and ours_c["median"] <= TARGET_C_KB
        kb: Callable[[float], str] = lambda x: f"{x:.1f} KB"  # noqa: E731
        rows.append(
            [
                f"C: {args.idle_n} idle conns",
                "server RSS per connection",
                fmt_range(ours_c, kb),
                fmt_range(flo_c, kb),
                fmt_range(rat_c, ratio_fmt),
                f"≤ {TARGET_C_KB:.0f} KB",
                "PASS" if ok_c else "FAIL",
            ]
        )
        summary.append(
            {
                "scenario": "C",
                "metric": key,
                "gyre": ours_c,
                "floor": flo_c,
                "ratio": rat_c,
                "target": f"<= {TARGET_C_KB} KB",
                "pass": ok_c,
            }
        )
        conn = summarize(values("C", "gyre", "connects_per_s"))
        conn_f = summarize(values("C", "floor", "connects_per_s"))
        rows.append(
            [
                f"C: {args.idle_n} idle conns",
                "connect+subscribe rate (200 concurrent)",
                fmt_range(conn, lambda x: f"{x:.0f}/s"),
                fmt_range(conn_f, lambda x: f"{x:.0f}/s"),
                "",
                "info",
                "-",
            ]
        )
    emit(
        {
            "kind": "summary",
            "results": summary,
            "truncated": truncated,
            "elapsed_s": round(elapsed, 1),
        }
    )

    head = ["scenario", "metric", "gyre", "floor", "gyre/floor", "target", "result"]
    lines = [
        "",
        f"## fan-out benchmark (N={args.n}, A: K={args.k}, B: K={args.kb} in bursts of "
        f"{args.burst}; {args.rounds} round(s) after {args.warmup} warm-up; median (min-max))",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Floor: {FLOOR_DEFINITION}",
        "Server pinned to CPU 0, picows load generator to CPU 1; publications via POST /api, "
        f"one request in flight; client-bound = client CPU ≥ {CLIENT_BOUND:.0%} of a core.",
    ]
    env = next((r for r in records if r.get("kind") == "env"), {})
    dirty = env.get("service_uncommitted") or []
    commit = env.get("commit") or "unknown (not a git checkout)"
    lines.append(
        f"gyre: {env.get('gyre_root')} at commit {commit}"
        + (f", with uncommitted changes in {len(dirty)} service/ file(s)" if dirty else "")
        + "."
    )
    if args.quick:
        lines.append("--quick: smoke run, windows are short and the figures noisy.")
    if truncated:
        lines.append(f"Stopped early: --max-seconds {args.max_seconds} reached.")
    errors = [r for r in records if r.get("error")]
    if errors:
        lines.append(f"{len(errors)} run(s) failed: see the JSON lines.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
