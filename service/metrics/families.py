"""Value holders and family builders for :mod:`service.metrics.metrics`.

Holders are plain slotted objects updated on the hot path (no locks: the event-loop thread
owns them); builders turn them into prometheus-client families at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from prometheus_client.metrics_core import GaugeMetricFamily, Metric, SummaryMetricFamily

from .exposition import GoCounterFamily

NS = "centrifugo"


class Summary:
    __slots__ = ("count", "sum")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0


class Histogram:
    """Count, sum and per-bucket (not cumulative) counts; the last bucket is ``+Inf``."""

    __slots__ = ("buckets", "count", "sum")

    def __init__(self, n: int) -> None:
        self.count = 0
        self.sum = 0.0
        self.buckets = [0] * (n + 1)


_V = TypeVar("_V")


def go_float(x: float) -> str:
    """``le`` label as Go's ``strconv.FormatFloat(x, 'g', -1, 64)`` writes it: ``1``, ``2.5``."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def items1(d: dict[str, _V]) -> list[tuple[tuple[str], _V]]:
    return [((k,), v) for k, v in list(d.items())]


def counter(
    name: str,
    doc: str,
    labels: list[str],
    items: Iterable[tuple[tuple[str, ...], int]],
    with_samples: bool,
) -> Metric:
    family = GoCounterFamily(f"{NS}_{name}", doc, labels)
    if with_samples:
        for values, v in items:
            family.add_metric(values, v)
    return family


def gauge(
    name: str,
    doc: str,
    labels: list[str],
    items: Iterable[tuple[tuple[str, ...], float]],
    with_samples: bool,
) -> Metric:
    family = GaugeMetricFamily(f"{NS}_{name}", doc, labels=labels)
    if with_samples:
        for values, v in items:
            family.add_metric(values, v)
    return family


def summary(
    name: str,
    doc: str,
    labels: list[str],
    items: Iterable[tuple[tuple[str, ...], Summary]],
    with_samples: bool,
) -> Metric:
    family = SummaryMetricFamily(f"{NS}_{name}", doc, labels=labels)
    if with_samples:
        for values, s in items:
            family.add_metric(values, s.count, s.sum)
    return family
