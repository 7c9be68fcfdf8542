"""Prometheus text exposition with Go-client counter names.

The Go client that Centrifugo v4 uses exposes a counter under its bare name
(``centrifugo_node_messages_sent_count{type="publication"} 3``); prometheus-client would add
``_total`` (and ``_created``) to every counter, which would rename every Centrifugo counter and
break existing dashboards (Grafana 13039) and alerts.  So counters of :class:`Metrics` are
collected as :class:`GoCounterFamily`, an untyped family whose samples carry the bare name;
:func:`render` writes it with ``# TYPE <name> counter`` exactly as the Go client does.
Plain ``generate_latest`` on the same registry stays valid (those families appear untyped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample


class GoCounterFamily(Metric):
    """A counter family whose samples are named ``name`` (no ``_total``, no ``_created``)."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, "unknown")
        self._labelnames = tuple(labels)

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        self.samples.append(
            Sample(self.name, dict(zip(self._labelnames, labels, strict=True)), float(value))
        )


class _One(Collector):
    """A collector holding one already-collected family (to reuse ``generate_latest``)."""

    __slots__ = ("family",)

    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> Iterable[Metric]:
        return (self.family,)


def render(registry: Collector) -> bytes:
    """Text exposition of ``registry``, with :class:`GoCounterFamily` typed ``counter``."""
    out: list[bytes] = []
    for family in registry.collect():
        text = generate_latest(_One(family))
        if isinstance(family, GoCounterFamily):
            name = family.name.encode()
            text = text.replace(
                b"# TYPE " + name + b" untyped\n", b"# TYPE " + name + b" counter\n", 1
            )
        out.append(text)
    return b"".join(out)
