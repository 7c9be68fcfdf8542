"""Hot-path cost of ``service.metrics.Metrics``: ns per call over 1e6 calls.

Run: ``.venv/bin/python bench/metrics_overhead.py [--n 1000000]``.  Each case is a plain
``for`` loop calling a pre-bound method (as ``self.metrics.message_sent(...)`` in the node
costs one more attribute lookup, ~10 ns); the cost of the empty loop is printed and also
subtracted in the ``net`` column.  ``NullMetrics`` and a prometheus-client Counter child are
shown for comparison.  Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Summary

from service.core.metrics import NullMetrics
from service.metrics import Metrics, NodeState, render


def _time(fn: Callable[[int], None], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, repeat = args.n, args.repeat

    reg = CollectorRegistry()
    m = Metrics(
        registry=reg,
        version="bench",
        state=NodeState(lambda: 1, lambda: 1, lambda: 1, lambda: 1, lambda: 1),
    )
    null = NullMetrics()
    prom_counter = Counter("bench_c", "c", ["type"], registry=reg).labels("publication")
    prom_summary = Summary("bench_s", "s", ["method"], registry=reg).labels("publish")

    def empty(k: int) -> None:
        for _ in range(k):
            pass

    def message_sent(k: int) -> None:
        f = m.message_sent
        for _ in range(k):
            f("publication")

    def message_sent_n(k: int) -> None:
        f = m.message_sent
        for _ in range(k):
            f("publication", 100)

    def transport_sent(k: int) -> None:
        f = m.transport_sent
        for _ in range(k):
            f("websocket", 100)

    def command_ok(k: int) -> None:
        f = m.command
        for _ in range(k):
            f("publish", 0.0001, 0)

    def command_error(k: int) -> None:
        f = m.command
        for _ in range(k):
            f("subscribe", 0.0001, 102)

    def connect(k: int) -> None:
        f = m.connect
        for _ in range(k):
            f("websocket")

    def api_command(k: int) -> None:
        f = m.api_command
        for _ in range(k):
            f("http", "publish", 0.0001)

    def null_message_sent(k: int) -> None:
        f = null.message_sent
        for _ in range(k):
            f("publication")

    def null_command(k: int) -> None:
        f = null.command
        for _ in range(k):
            f("publish", 0.0001, 0)

    def prom_counter_inc(k: int) -> None:
        f = prom_counter.inc
        for _ in range(k):
            f()

    def prom_summary_observe(k: int) -> None:
        f = prom_summary.observe
        for _ in range(k):
            f(0.0001)

    base = _time(empty, n, repeat)
    print(f"{n} calls, best of {repeat}; empty loop {base:.1f} ns/iter")
    print(f"{'case':44} {'ns/call':>8} {'net':>8}")
    for name, fn in [
        ("Metrics.message_sent(kind)", message_sent),
        ("Metrics.message_sent(kind, 100)", message_sent_n),
        ("Metrics.transport_sent(transport, 100)", transport_sent),
        ("Metrics.command(method, s, 0)", command_ok),
        ("Metrics.command(method, s, 102)", command_error),
        ("Metrics.connect(transport)", connect),
        ("Metrics.api_command(proto, method, s)", api_command),
        ("NullMetrics.message_sent(kind)", null_message_sent),
        ("NullMetrics.command(method, s, 0)", null_command),
        ("prometheus_client Counter child .inc()", prom_counter_inc),
        ("prometheus_client Summary child .observe()", prom_summary_observe),
    ]:
        t = _time(fn, n, repeat)
        print(f"{name:44} {t:8.1f} {t - base:8.1f}")

    t0 = time.perf_counter_ns()
    for _ in range(100):
        body = render(reg)
    print(f"scrape render: {(time.perf_counter_ns() - t0) / 100 / 1000:.0f} us, {len(body)} bytes")


if __name__ == "__main__":
    main()
