#!/usr/bin/env python3
"""The server under test of ``bench/soak.py``: Gyre's real composition root in its own process,
reporting what only the process itself can see.

It runs like ``gyre serve`` (uvloop, ``start_server``, then ``gc.collect(); gc.freeze()``)
and prints JSON lines on stdout: first ``{"ports": ...}``, then one sample every
``--interval`` seconds and one more for each line read on stdin (an on-demand sample, after a full
``gc.collect()``):

``t`` (seconds since start), ``rss_kb`` (VmRSS), ``fds`` (open file descriptors),
``tasks`` (``asyncio.all_tasks()``), ``sessions`` (ClientSession objects not yet collected),
``sizes`` (``Node.registry_sizes()``: timer wheel, hub maps, broker subscriptions, ...) and,
on the memory engine, ``presence`` (presence entries held).  SIGTERM stops it gracefully.

    .venv/bin/python bench/soak_server.py --config cfg.json --interval 15
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys
import time
import weakref
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# --root DIR: serve the ``service`` package of another checkout (``soak.py --gyre-ref``)
ROOT = Path(sys.argv[sys.argv.index("--root") + 1]) if "--root" in sys.argv else REPO
sys.path[:0] = [str(ROOT), str(ROOT / "generated")]

from service.app import Server, start_server  # noqa: E402
from service.config import load_config  # noqa: E402
from service.core.client import ClientSession  # noqa: E402
from service.engines.memory import MemoryPresenceManager  # noqa: E402


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sample(
    server: Server, sessions: weakref.WeakSet[ClientSession], started: float
) -> dict[str, Any]:
    node = server.node
    if hasattr(node, "registry_sizes"):
        sizes = node.registry_sizes()
    else:  # a commit from before Node.registry_sizes
        hub = node.hub
        sizes = {
            "timers": sum(len(b) for b in node.timers._buckets.values()),
            "hub.conns": len(hub.conns),
            "hub.users": len(hub.users),
            "hub.sessions": len(hub.sessions),
            "hub.channels": len(hub.channels),
        }
    out: dict[str, Any] = {
        "t": round(time.monotonic() - started, 1),
        "rss_kb": rss_kb(),
        "fds": len(os.listdir("/proc/self/fd")),
        "tasks": len(asyncio.all_tasks()),
        "sessions": len(sessions),
        "sizes": sizes,
    }
    if isinstance(node.presence, MemoryPresenceManager) and hasattr(node.presence, "num_entries"):
        out["presence"] = node.presence.num_entries()
    return out


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def main(config: str, interval: float) -> None:
    cfg, _ = load_config(config, env={})
    server = await start_server(cfg)
    sessions: weakref.WeakSet[ClientSession] = weakref.WeakSet()
    created = server.node.on_client_created

    def track(client: ClientSession) -> None:
        sessions.add(client)
        created(client)

    server.node.on_client_created = track  # type: ignore[method-assign]
    gc.collect()
    gc.freeze()  # as ``gyre serve`` does after start-up
    started = time.monotonic()
    emit({"ports": server.ports, "pid": os.getpid()})
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    wake = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), lambda: (sys.stdin.readline(), wake.set()))
    next_at = started + interval
    while not stop.is_set():
        timeout = max(0.0, next_at - time.monotonic())
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
        for w in pending:
            w.cancel()
        if stop.is_set():
            break
        if wake.is_set():
            wake.clear()
            gc.collect()  # on-demand samples count only what is really still referenced
            emit({"on_demand": True, **sample(server, sessions, started)})
            continue
        next_at += interval
        emit(sample(server, sessions, started))
    loop.remove_reader(sys.stdin.fileno())
    await server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--interval", type=float, default=15.0)
    p.add_argument("--root", help="checkout whose service package to serve (default: this one)")
    a = p.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(main(a.config, a.interval))
