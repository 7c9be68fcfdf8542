"""Prometheus metrics with Centrifugo v4 names on an injected registry (leaf layer).

:class:`Metrics` implements ``service.core.metrics.NodeMetrics`` structurally; node gauges
read a :class:`NodeState` of callables at scrape time; :func:`metrics_handler` serves
``/metrics``.
"""

from service.metrics.exposition import GoCounterFamily, render
from service.metrics.http import metrics_handler
from service.metrics.metrics import DEFAULT_BUCKETS, Metrics, NodeState

__all__ = [
    "DEFAULT_BUCKETS",
    "GoCounterFamily",
    "Metrics",
    "NodeState",
    "metrics_handler",
    "render",
]
