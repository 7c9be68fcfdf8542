#!/usr/bin/env python3
"""Speed at the limit: connect storms, many small channels and the scale of one process,
each against a floor run in the same invocation (docs/performance.md#method).

Processes as in ``bench/fanout.py``: the server under test pinned to CPU 0, the picows load
generator ``bench/limits_loadgen.py`` on CPU 1, loopback only, killed by PID, every wait
bounded.  The floor is ``bench/peers/raw_floor.py`` (aiohttp + uvloop, canned
connect/subscribe replies, one pre-encoded frame written per target connection).

* **storm**: ``--storm-n`` (5,000) clients connect at once, each with its own HS256 token,
  and subscribe to a channel of their own; window from the first TCP connect to the last
  subscribe reply.  Floor: the same HTTP upgrade plus one HS256 verification of the token
  with gyre's own ``TokenVerifier`` (``raw_floor.py --hmac-secret``).  Metric: connects per
  server CPU-second (target >= 0.7x the floor); refused/failed connections are counted (gyre
  runs with ``client_connection_rate_limit`` at twice the storm size: target none).
* **channels**: ``--ch-n`` (10,000) clients, each on its own channel; ``POST /api`` sends
  ``--per-body`` (100) deliveries per request, one request in flight, ``--passes`` (20) passes over
  all channels: ``publish`` (100 publish commands to 100 channels per body) and ``broadcast``
  (one broadcast to 100 channels per body).  Metric: deliveries per server CPU-second
  (target >= 0.7x the floor, which writes one pre-encoded frame to each target connection).
* **scale**: for each of ``--scale-n`` (sizes, largest first), a fresh server, then that
  many idle connections with 5 subscriptions each (one own channel, four of a pool of
  1,000), from ``--sources`` loopback source addresses (127.0.0.2...) and as many load
  generator processes as the file-descriptor limit needs; gyre with its default pings
  (``ping_interval`` 25 s, ``pong_timeout`` 8 s).  Reported: RSS per connection, time to
  connect them all, and the server CPU over ``--idle-s`` seconds of idleness (pings, pongs,
  timers) as % of a core and per connection (target: flat per connection, < 2 % of a core at
  50,000).  Floor: the bare aiohttp WebSocket server holding the same connections and sending
  each v4's ping every 25 s, whose pongs it reads (``raw_floor.py --ping-interval``: one task
  pings a slot of connections every 0.25 s; no pong deadline, no other timer).

Rounds (storm, channels) alternate which server goes first; the first is a warm-up; ratios
are per round, reported as median (min-max).  A run whose load generator used >= 90 % of its
core is marked client-bound: there the generator, not the server, set the pace.

    .venv/bin/python bench/limits_bench.py                     # all three (~6 min)
    .venv/bin/python bench/limits_bench.py storm --quick       # one scenario, smoke run
    .venv/bin/python bench/limits_bench.py --gyre-ref HEAD~3   # service/ of another commit
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    export_ref,
    fmt_range,
    free_port,
    log,
    pinned,
    run_json,
    stop,
    summarize,
    wait_port,
)
from loadgen import cpu_seconds, proc_status

TARGET = 0.7
IDLE_TARGET = 0.02  # of a core at 50,000 idle connections


def wait_quiet(pid: int, limit: float = 30.0) -> None:
    """Wait until the server spends (almost) no CPU: the last run's clients are gone."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = cpu_seconds(pid)
        if now - last <= 0.02:
            return
        last = now


class Servers:
    """Starts gyre (from ``root``) or the floor as pinned processes."""

    def __init__(self, root: Path, workdir: Path, cpu: int | None) -> None:
        self.root = root
        self.workdir = workdir
        self.cpu = cpu

    @contextmanager
    def run(self, impl: str, **cfg: Any) -> Iterator[tuple[int, int]]:
        """Yields (pid, port)."""
        port = free_port()
        env = dict(os.environ)
        if impl == "floor":
            cmd = [sys.executable, str(BENCH / "peers" / "raw_floor.py"), "--port", str(port)]
            cmd += ["--api-key", API_KEY, "--hmac-secret", SECRET]
            if "ping_interval" in cfg:  # seconds, as gyre's option without its unit
                cmd += ["--ping-interval", str(cfg["ping_interval"]).rstrip("s")]
            cwd = REPO
        else:
            conf = {
                "token_hmac_secret_key": SECRET,
                "api_key": API_KEY,
                "address": "127.0.0.1",
                "port": port,
                "allow_subscribe_for_client": True,
                "log_level": "error",
                **cfg,
            }
            path = self.workdir / f"gyre-{port}.json"
            path.write_text(json.dumps(conf))
            cmd = [sys.executable, "-m", "service", "-c", str(path)]
            env["PYTHONPATH"] = str(self.root)
            cwd = self.root
        full, preexec = pinned(self.cpu, cmd)
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=env,
            preexec_fn=preexec,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            if not wait_port(port, proc, 30.0):
                err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                raise RuntimeError(f"{impl} did not start: {err}")
            time.sleep(0.3)
            yield proc.pid, port
        finally:
            stop(proc)


def loadgen(cpu: int | None, args: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(BENCH / "limits_loadgen.py"), *args]
    return run_json(cmd, cpu, timeout * 3 + 60)


def ws(port: int) -> str:
    return f"ws://127.0.0.1:{port}/connection/websocket"


def ratio_rows(
    label: str, runs: list[dict[str, Any]], key: str, fmt: Any, target: str, higher: bool = True
) -> tuple[list[str], dict[str, Any]]:
    """One table row (gyre, floor, per-round ratio) of ``key`` over the measured rounds."""
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for r in runs:
        by_round.setdefault(r["round"], {})[r["impl"]] = r
    g = [r[key] for r in runs if r["impl"] == "gyre" and r.get(key)]
    f = [r[key] for r in runs if r["impl"] == "floor" and r.get(key)]
    ratios = [
        p["gyre"][key] / p["floor"][key]
        for p in by_round.values()
        if "gyre" in p and "floor" in p and p["gyre"].get(key) and p["floor"].get(key)
    ]
    rs = summarize(ratios)
    ok = rs is not None and (rs["median"] >= TARGET if higher else rs["median"] <= TARGET)
    bound = [
        f"{impl} client-bound in {sum(1 for r in runs if r['impl'] == impl and r['bound'])}"
        for impl in ("gyre", "floor")
        if any(r["impl"] == impl and r["bound"] for r in runs)
    ]
    row = [
        label,
        fmt_range(summarize(g), fmt),
        fmt_range(summarize(f), fmt),
        fmt_range(rs, lambda x: f"{x:.2f}x"),
        target,
        ("PASS" if ok else "FAIL") + (f" ({', '.join(bound)})" if bound else ""),
    ]
    return row, {"label": label, "gyre": summarize(g), "floor": summarize(f), "ratio": rs}


def k(x: float) -> str:
    return f"{x / 1000:.1f}k" if x >= 1000 else f"{x:.0f}"


def storm(a: argparse.Namespace, servers: Servers, emit: Any) -> list[list[str]]:
    runs: list[dict[str, Any]] = []
    rate = 2 * a.storm_n
    with (
        servers.run("gyre", client_connection_rate_limit=rate) as (gpid, gport),
        servers.run("floor") as (fpid, fport),
    ):
        for rnd in range(a.warmup + a.rounds):
            order = [("gyre", gpid, gport), ("floor", fpid, fport)]
            for impl, pid, port in order if rnd % 2 == 0 else order[::-1]:
                res = loadgen(
                    a.client_cpu,
                    [
                        *("storm", "--url", ws(port), "--secret", SECRET, "--pid", str(pid)),
                        *("--n", str(a.storm_n), "--prefix", f"s{rnd}-"),
                    ],
                    a.timeout,
                )
                res.update(scenario="storm", impl=impl, round=rnd - a.warmup)
                res["bound"] = res.get("client_util", 0) >= CLIENT_BOUND
                emit(res)
                log(
                    f"storm {impl} round {rnd - a.warmup}: {res.get('connects_per_server_cpu_s')}"
                    f"/srv-CPU-s, {res.get('connects_per_s')}/s, failures {res.get('failures')}"
                    f" client {res.get('client_util')} {res.get('error', '')}"
                )
                wait_quiet(pid)
                if rnd >= a.warmup and "error" not in res:
                    runs.append(res)
    rows = []
    row, summ = ratio_rows(
        f"connect storm, {a.storm_n} clients (JWT + subscribe)",
        runs,
        "connects_per_server_cpu_s",
        k,
        f"≥ {TARGET}x floor",
    )
    rows.append(["connects per server CPU-s", *row])
    emit({"kind": "summary", "scenario": "storm", **summ})
    row, _ = ratio_rows("same", runs, "connects_per_s", k, "info")
    rows.append(["connects/s (wall)", *row[:-2], "info", "-"])
    for key in ("p50_ms", "p99_ms"):
        row, _ = ratio_rows("same", runs, key, lambda x: f"{x:.0f} ms", "info")
        rows.append([f"latency {key[:3]}", *row[:-2], "info", "-"])
    fails = {
        impl: sum(sum(r.get("failures", {}).values()) for r in runs if r["impl"] == impl)
        for impl in ("gyre", "floor")
    }
    rows.append(
        [
            "refused or failed connections",
            "same",
            str(fails["gyre"]),
            str(fails["floor"]),
            "",
            f"0 (rate limit {rate}/s)",
            "PASS" if fails["gyre"] == 0 else "FAIL",
        ]
    )
    return rows


def channels(a: argparse.Namespace, servers: Servers, emit: Any) -> list[list[str]]:
    runs: list[dict[str, Any]] = []
    cfg = {"ping_interval": "300s", "pong_timeout": "200s", "client_queue_max_size": 1 << 20}
    with servers.run("gyre", **cfg) as (gpid, gport), servers.run("floor") as (fpid, fport):
        for rnd in range(a.warmup + a.rounds):
            order = [("gyre", gpid, gport), ("floor", fpid, fport)]
            for impl, pid, port in order if rnd % 2 == 0 else order[::-1]:
                api = f"http://127.0.0.1:{port}/api"
                res = loadgen(
                    a.client_cpu,
                    [
                        *("channels", "--url", ws(port), "--api", api, "--api-key", API_KEY),
                        *("--secret", SECRET, "--pid", str(pid), "--n", str(a.ch_n)),
                        *("--passes", str(a.passes), "--per-body", str(a.per_body)),
                        *("--prefix", f"p{rnd}-"),
                    ],
                    a.timeout,
                )
                emit({"scenario": "channels", "impl": impl, "round": rnd - a.warmup, **res})
                for phase in ("publish", "broadcast"):
                    r = res.get(phase, {"error": res.get("error", "missing")})
                    r.update(impl=impl, round=rnd - a.warmup, phase=phase)
                    r["bound"] = r.get("client_util", 0) >= CLIENT_BOUND
                    log(
                        f"channels {phase} {impl} round {rnd - a.warmup}: "
                        f"{r.get('deliveries_per_server_cpu_s')}/srv-CPU-s, "
                        f"{r.get('deliveries_per_s')}/s, lost {r.get('lost')}, "
                        f"client {r.get('client_util')} {r.get('error', '')}"
                    )
                    if rnd >= a.warmup and "error" not in r and not r.get("lost"):
                        runs.append(r)
                wait_quiet(pid)
    rows = []
    for phase in ("publish", "broadcast"):
        rs = [r for r in runs if r["phase"] == phase]
        what = "publish to each channel" if phase == "publish" else "broadcast to 100 channels"
        row, summ = ratio_rows(
            f"{a.ch_n} clients on own channels, {what}",
            rs,
            "deliveries_per_server_cpu_s",
            k,
            f"≥ {TARGET}x floor",
        )
        rows.append(["deliveries per server CPU-s", *row])
        emit({"kind": "summary", "scenario": f"channels-{phase}", **summ})
        row, _ = ratio_rows("same", rs, "deliveries_per_s", k, "info")
        rows.append(["deliveries/s (wall)", *row[:-2], "info", "-"])
    return rows


def scale_one(a: argparse.Namespace, servers: Servers, impl: str, n: int) -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_proc = max(1000, hard - 500)
    procs = -(-n // per_proc)
    floor_pings = {"ping_interval": "25s"} if impl == "floor" else {}  # gyre's default
    with servers.run(impl, **floor_pings) as (pid, port):
        time.sleep(1.0)
        rss0 = proc_status(pid)["VmRSS"]
        cpu0 = cpu_seconds(pid)
        t0 = time.perf_counter()
        gens = []
        for i in range(procs):
            share = n // procs + (1 if i < n % procs else 0)
            cmd = [sys.executable, str(BENCH / "limits_loadgen.py"), "hold", "--url", ws(port)]
            cmd += ["--secret", SECRET, "--n", str(share), "--offset", str(i * per_proc)]
            cmd += ["--subs", "5", "--sources", str(a.sources), "--prefix", "own"]
            full, preexec = pinned(a.client_cpu, cmd)
            gens.append(
                subprocess.Popen(
                    full,
                    cwd=REPO,
                    preexec_fn=preexec,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        ready = []
        for g in gens:
            assert g.stdout is not None
            line = g.stdout.readline()
            ready.append(json.loads(line) if line else {"error": g.stderr.read().decode()[-800:]})  # type: ignore[union-attr]
        connect_s = time.perf_counter() - t0
        connect_cpu = cpu_seconds(pid) - cpu0
        connected = sum(r.get("connected", 0) for r in ready)
        time.sleep(a.settle)
        rss1 = proc_status(pid)["VmRSS"]
        c0, w0 = cpu_seconds(pid), time.perf_counter()
        time.sleep(a.idle_s)
        idle_cpu, idle_wall = cpu_seconds(pid) - c0, time.perf_counter() - w0
        rss2 = proc_status(pid)["VmRSS"]
        pings = 0
        for g in gens:
            out, _ = g.communicate(b"\n", timeout=60)
            lines = out.decode().strip().splitlines()
            pings += json.loads(lines[-1]).get("pings", 0) if lines else 0
    return {
        "scenario": "scale",
        "impl": impl,
        "n": n,
        "connected": connected,
        "failures": [r.get("failures") or r.get("error") for r in ready if r.get("failures")],
        "loadgen_procs": procs,
        "connect_s": round(connect_s, 2),
        "connects_per_s": round(connected / connect_s) if connect_s else 0,
        "connect_server_cpu_s": round(connect_cpu, 2),
        "rss_per_conn_kb": round((rss1 - rss0) / max(connected, 1), 2),
        "rss_total_mb": round(rss2 / 1024, 1),
        "idle_s": round(idle_wall, 1),
        "idle_core_pct": round(100 * idle_cpu / idle_wall, 3),
        "idle_us_per_conn_s": round(1e6 * idle_cpu / idle_wall / max(connected, 1), 4),
        "pings_answered": pings,
    }


def scale(a: argparse.Namespace, servers: Servers, emit: Any) -> list[list[str]]:
    rows = []
    sizes = [int(x) for x in a.scale_n.split(",") if x]
    for n in sizes:
        res = {impl: scale_one(a, servers, impl, n) for impl in ("gyre", "floor")}
        for r in res.values():
            emit(r)
            log(
                f"scale {r['impl']} n={n}: {r['connected']} connected in {r['connect_s']} s, "
                f"{r['rss_per_conn_kb']} KB/conn, idle {r['idle_core_pct']}% of a core, "
                f"{r['pings_answered']} pings"
            )
        g, f = res["gyre"], res["floor"]
        at50k = g["idle_us_per_conn_s"] * 50_000 / 1e6
        floor50k = f["idle_us_per_conn_s"] * 50_000 / 1e6
        rows += [
            [
                f"{n} idle, 5 subs each",
                "RSS per connection",
                f"{g['rss_per_conn_kb']} KB",
                f"{f['rss_per_conn_kb']} KB",
                f"{g['rss_per_conn_kb'] / max(f['rss_per_conn_kb'], 0.01):.2f}x",
                "flat",
                "-",
            ],
            [
                "same",
                "time to connect all (connects/s)",
                f"{g['connect_s']} s ({g['connects_per_s']}/s)",
                f"{f['connect_s']} s ({f['connects_per_s']}/s)",
                "",
                "info",
                "-",
            ],
            [
                "same",
                f"idle server CPU over {a.idle_s:g} s (pings, timers)",
                f"{g['idle_core_pct']}% of a core ({g['idle_us_per_conn_s']} us/s per conn)",
                f"{f['idle_core_pct']}% ({f['idle_us_per_conn_s']} us/s per conn)",
                f"{g['idle_core_pct'] / max(f['idle_core_pct'], 0.001):.2f}x",
                f"< {IDLE_TARGET:.0%} at 50k (here: {at50k:.2%}, floor {floor50k:.2%} at 50k)",
                "PASS" if at50k < IDLE_TARGET else "FAIL",
            ],
        ]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("scenarios", nargs="*", default=["storm", "channels", "scale"])
    ap.add_argument("--storm-n", type=int, default=5000)
    ap.add_argument("--ch-n", type=int, default=10000)
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--per-body", type=int, default=100)
    ap.add_argument("--scale-n", default="", help="sizes, e.g. 50000,12500 (default: the fd limit)")
    ap.add_argument("--sources", type=int, default=4, help="scale: 127.0.0.x source addresses")
    ap.add_argument("--idle-s", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--gyre-ref", help="benchmark service/ as of this git commit")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not a.scale_n:  # the server holds every connection: its fd limit bounds the size
        top = min(50_000, hard - 1000)
        a.scale_n = f"{top},{top // 4}"
    if a.quick:
        a.storm_n, a.ch_n, a.passes, a.rounds, a.idle_s = 1000, 2000, 1, 1, 10.0
        a.scale_n = "2000"
    if (os.cpu_count() or 1) < 2:
        a.server_cpu = a.client_cpu = None
    else:
        os.sched_setaffinity(0, {a.client_cpu})
    with tempfile.TemporaryDirectory(prefix="limits-bench-") as tmp:
        root = REPO
        if a.gyre_ref:
            root = Path(tmp) / "gyre-src"
            commit = export_ref(a.gyre_ref, root)
        else:
            commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
            ).stdout.strip()
        servers = Servers(root, Path(tmp), a.server_cpu)

        def emit(rec: dict[str, Any]) -> None:
            print(json.dumps(rec), flush=True)

        emit({"kind": "env", "commit": commit, "nofile": hard, **vars(a)})
        rows: list[list[str]] = []
        for name in a.scenarios:
            rows += {"storm": storm, "channels": channels, "scale": scale}[name](a, servers, emit)
    head = ["metric", "scenario", "gyre", "floor", "gyre/floor (min-max)", "target", "result"]
    print(f"\n## limits benchmark at {commit} ({a.rounds} round(s) after {a.warmup} warm-up)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(
        "\nFloors: raw_floor.py (aiohttp + uvloop; storm: upgrade + one HS256 verification with"
        " gyre's TokenVerifier; channels: one pre-encoded frame written per target connection;"
        f" scale: a bare aiohttp WebSocket server). Client-bound = client CPU >= {CLIENT_BOUND:.0%}"
        f" of a core. Scale sizes bounded by the file-descriptor limit ({hard})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
