"""Proxy call metrics, with Centrifugo v4's family names (``internal/proxy`` metrics).

Simple mode (no proxy name): ``centrifugo_proxy_duration_seconds{protocol,type}`` (summary),
its ``_histogram`` twin and ``centrifugo_proxy_errors{protocol,type}`` (calls that got no
valid answer).  Granular mode: the same as ``centrifugo_granular_proxy_*{type,name}``.
Gyre adds ``centrifugo_proxy_calls{type,protocol,name,outcome}``: every call by how it ended
(``result``, ``empty``, ``error``, ``disconnect``, ``failure``; ``name`` is "" in simple mode).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.metrics_core import HistogramMetricFamily, Metric, SummaryMetricFamily

from .families import NS, Histogram, counter


class ProxyCallStats:
    """Hot-path holders for :meth:`observe`; families built at scrape time."""

    def __init__(self, bounds: tuple[float, ...], les: list[str]) -> None:
        self._bounds = bounds
        self._les = les
        self._durations: dict[tuple[str, str, str], Histogram] = {}  # (type, protocol, name)
        self._errors: dict[tuple[str, str, str], int] = {}
        self._calls: dict[tuple[str, str, str, str], int] = {}

    def observe(self, kind: str, protocol: str, name: str, outcome: str, seconds: float) -> None:
        key = (kind, protocol, name)
        h = self._durations.get(key)
        if h is None:
            h = self._durations[key] = Histogram(len(self._bounds))
        h.count += 1
        h.sum += seconds
        h.buckets[bisect_left(self._bounds, seconds)] += 1
        if outcome == "failure":
            self._errors[key] = self._errors.get(key, 0) + 1
        ckey = (kind, protocol, name, outcome)
        self._calls[ckey] = self._calls.get(ckey, 0) + 1

    def families(self, with_samples: bool) -> Iterator[Metric]:
        for granular in (False, True):
            prefix = "granular_proxy" if granular else "proxy"
            labels = ["type", "name"] if granular else ["protocol", "type"]
            what = "granular proxy call" if granular else "proxy call"
            summary = SummaryMetricFamily(
                f"{NS}_{prefix}_duration_seconds", f"Duration of {what}.", labels=labels
            )
            histogram = HistogramMetricFamily(
                f"{NS}_{prefix}_duration_seconds_histogram",
                f"Histogram of duration of {what}.",
                labels=labels,
            )
            errors: list[tuple[tuple[str, ...], int]] = []
            if with_samples:
                for (kind, protocol, name), h in list(self._durations.items()):
                    if bool(name) != granular:
                        continue
                    values = [kind, name] if granular else [protocol, kind]
                    summary.add_metric(values, h.count, h.sum)
                    cumulative: list[tuple[str, float]] = []
                    total = 0
                    for le, n in zip(self._les, h.buckets, strict=True):
                        total += n
                        cumulative.append((le, total))
                    histogram.add_metric(values, cumulative, h.sum)
                for (kind, protocol, name), n in list(self._errors.items()):
                    if bool(name) == granular:
                        errors.append(((kind, name) if granular else (protocol, kind), n))
            yield summary
            yield histogram
            yield counter(
                f"{prefix}_errors",
                f"{what.capitalize()} error count.",
                labels,
                errors,
                with_samples,
            )
        yield counter(
            "proxy_calls",
            "Proxy calls by how they ended (result, empty, error, disconnect, failure).",
            ["type", "protocol", "name", "outcome"],
            list(self._calls.items()),
            with_samples,
        )
