"""Centrifugo v4 metrics on an injected ``CollectorRegistry`` (docs/configuration.md#metrics).

Families and labels are those of ``centrifugal/centrifuge@v0.28.2:metrics.go`` and Centrifugo
v4.1.5 (``internal/api/metrics.go``, ``internal/middleware/connlimit.go``), namespace
``centrifugo``.  :class:`Metrics` implements ``service.core.metrics.NodeMetrics`` structurally
(this layer imports nothing from other service packages).

Hot-path calls are a dict lookup and an integer/float add on plain Python objects: no locks,
no prometheus-client child objects, no allocation once a label value has been seen.  Like the
rest of the server they must be called from the event-loop thread; scraping runs there too.
Everything else (gauges from node state, cumulative histogram buckets, label strings) is
computed at scrape time in :meth:`Metrics.collect`.

Differences from the Go client: summaries expose ``_count`` and ``_sum`` only (no
``quantile`` series: a streaming quantile estimate per observation would not be cheap), and
the ``channel_namespace`` label of later centrifuge versions is absent, as in v4.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from .families import NS, Histogram, Summary, counter, gauge, go_float, items1, summary
from .proxy import ProxyCallStats

log = logging.getLogger("gyre.metrics")

# prometheus.DefBuckets of the Go client (the ``_histogram`` variant of API durations).
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# Label values the Go client creates up front, so their series exist (at 0) from the start.
MESSAGE_TYPES = ("publication", "join", "leave", "control")
TRANSPORTS = ("websocket", "http_stream", "sse")
COMMAND_METHODS = (
    "connect",
    "subscribe",
    "unsubscribe",
    "publish",
    "presence",
    "presence_stats",
    "history",
    "send",
    "rpc",
    "refresh",
    "sub_refresh",
)


@dataclass(frozen=True, slots=True)
class NodeState:
    """Callables read at scrape time for the ``centrifugo_node_num_*`` gauges."""

    num_clients: Callable[[], int]
    num_users: Callable[[], int]
    num_subscriptions: Callable[[], int]
    num_channels: Callable[[], int]
    num_nodes: Callable[[], int]


_NODE_GAUGES = (
    ("node_num_clients", "Number of clients connected.", "num_clients"),
    ("node_num_users", "Number of unique users connected.", "num_users"),
    ("node_num_subscriptions", "Number of subscriptions.", "num_subscriptions"),
    ("node_num_channels", "Number of channels with one or more subscribers.", "num_channels"),
    ("node_num_nodes", "Number of nodes in the cluster.", "num_nodes"),
)


class Metrics(Collector):
    """All Centrifugo metric families of one node, registered on ``registry``.

    ``standard_collectors`` also registers the process, platform and Python GC collectors
    (the counterparts of the Go client's process and Go runtime collectors) on the same
    registry.  ``state`` (or :meth:`set_node_state` later) feeds the node gauges.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        version: str,
        state: NodeState | None = None,
        standard_collectors: bool = True,
        api_buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.registry = registry
        self.version = version
        self.state = state
        self._api_bounds = tuple(sorted(float(b) for b in api_buckets))
        self._api_les = [go_float(b) for b in self._api_bounds] + ["+Inf"]
        self._messages_sent: dict[str, int] = dict.fromkeys(MESSAGE_TYPES, 0)
        self._messages_received: dict[str, int] = dict.fromkeys(MESSAGE_TYPES, 0)
        self._actions: dict[str, int] = {}
        self._survey: dict[str, Summary] = {}
        self._connection_limit = 0
        self._reply_errors: dict[tuple[str, int], int] = {}
        self._disconnects: dict[int, int] = {}
        self._commands: dict[str, Summary] = {m: Summary() for m in COMMAND_METHODS}
        self._recover = [0, 0]  # [not recovered, recovered]
        self._connects: dict[str, int] = dict.fromkeys(TRANSPORTS, 0)
        self._transport_sent: dict[str, int] = {}
        self._api: dict[tuple[str, str], Histogram] = {}
        self._proxy = ProxyCallStats(self._api_bounds, self._api_les)
        registry.register(self)
        if standard_collectors:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)

    def set_node_state(self, state: NodeState) -> None:
        """Install (or replace) the callables behind the ``centrifugo_node_num_*`` gauges."""
        self.state = state

    # --- NodeMetrics (hot path) -----------------------------------------------------------

    def command(self, method: str, seconds: float, error_code: int) -> None:
        """A client command finished: ``client_command_duration_seconds{method}``, and
        ``client_num_reply_errors{method,code}`` when it was answered with an error."""
        try:
            s = self._commands[method]
        except KeyError:
            s = self._commands[method] = Summary()
        s.count += 1
        s.sum += seconds
        if error_code:
            errors = self._reply_errors
            key = (method, error_code)
            errors[key] = errors.get(key, 0) + 1

    def recover(self, recovered: bool) -> None:
        """``client_recover{recovered="yes"|"no"}``."""
        self._recover[recovered] += 1

    def connect(self, transport: str) -> None:
        """``transport_connect_count{transport}``."""
        try:
            self._connects[transport] += 1
        except KeyError:
            self._connects[transport] = 1

    def disconnect(self, code: int) -> None:
        """``client_num_server_disconnects{code}``."""
        d = self._disconnects
        d[code] = d.get(code, 0) + 1

    def message_sent(self, kind: str, count: int = 1) -> None:
        """``node_messages_sent_count{type}``: messages the node sent to the broker."""
        try:
            self._messages_sent[kind] += count
        except KeyError:
            self._messages_sent[kind] = count

    def message_received(self, kind: str, count: int = 1) -> None:
        """``node_messages_received_count{type}``: messages the node got from the broker."""
        try:
            self._messages_received[kind] += count
        except KeyError:
            self._messages_received[kind] = count

    # --- further hooks --------------------------------------------------------------------

    def transport_sent(self, transport: str, count: int = 1) -> None:
        """``transport_messages_sent{transport}``: messages written to client connections."""
        try:
            self._transport_sent[transport] += count
        except KeyError:
            self._transport_sent[transport] = count

    def inc_action(self, action: str, count: int = 1) -> None:
        """``node_action_count{action}`` (add_client, add_subscription, history, ...)."""
        a = self._actions
        a[action] = a.get(action, 0) + count

    def observe_survey(self, op: str, seconds: float) -> None:
        """``node_survey_duration_seconds{op}``."""
        try:
            s = self._survey[op]
        except KeyError:
            s = self._survey[op] = Summary()
        s.count += 1
        s.sum += seconds

    def connection_limit_reached(self) -> None:
        """``node_client_connection_limit``: a connection refused by ``client_connection_limit``."""
        self._connection_limit += 1

    def api_command(self, protocol: str, method: str, seconds: float, count: int = 1) -> None:
        """``api_command_duration_seconds{protocol,method}`` and its ``_histogram`` twin:
        ``count`` commands that took ``seconds`` each."""
        key = (protocol, method)
        try:
            h = self._api[key]
        except KeyError:
            h = self._api[key] = Histogram(len(self._api_bounds))
        h.count += count
        h.sum += seconds * count
        h.buckets[bisect_left(self._api_bounds, seconds)] += count

    def proxy_call(self, kind: str, protocol: str, name: str, outcome: str, seconds: float) -> None:
        """A proxy call ended (``service.proxy.ProxyMetrics``; families in ``proxy.py``)."""
        self._proxy.observe(kind, protocol, name, outcome, seconds)

    # --- Collector (scrape time) ----------------------------------------------------------

    def describe(self) -> Iterable[Metric]:
        """Families without samples, so the registry can refuse duplicate names."""
        return list(self._families(with_samples=False))

    def collect(self) -> Iterable[Metric]:
        families = list(self._families(with_samples=True))
        families.sort(key=lambda f: f.name)  # the Go registry gathers in name order
        return families

    def _families(self, *, with_samples: bool) -> Iterator[Metric]:
        s = with_samples
        yield from self._node_gauges(s)
        yield gauge("node_build", "Node build info.", ["version"], [((self.version,), 1)], s)
        yield counter(
            "node_messages_sent_count",
            "Number of messages the node sent to the broker.",
            ["type"],
            items1(self._messages_sent),
            s,
        )
        yield counter(
            "node_messages_received_count",
            "Number of messages the node received from the broker.",
            ["type"],
            items1(self._messages_received),
            s,
        )
        yield counter(
            "node_action_count",
            "Number of node actions called.",
            ["action"],
            items1(self._actions),
            s,
        )
        yield summary(
            "node_survey_duration_seconds",
            "Duration of surveys.",
            ["op"],
            items1(self._survey),
            s,
        )
        yield counter(
            "node_client_connection_limit",
            "Number of requests refused because of the node client connection limit.",
            [],
            [((), self._connection_limit)],
            s,
        )
        yield counter(
            "client_num_reply_errors",
            "Number of error replies sent to clients.",
            ["method", "code"],
            [((m, str(c)), v) for (m, c), v in list(self._reply_errors.items())],
            s,
        )
        yield counter(
            "client_num_server_disconnects",
            "Number of disconnects initiated by the server.",
            ["code"],
            [((str(c),), v) for c, v in list(self._disconnects.items())],
            s,
        )
        yield summary(
            "client_command_duration_seconds",
            "Duration of client commands.",
            ["method"],
            items1(self._commands),
            s,
        )
        recover = [
            ((label,), n) for label, n in zip(("no", "yes"), self._recover, strict=True) if n
        ]
        yield counter(
            "client_recover",
            "Number of recovery attempts.",
            ["recovered"],
            recover,
            s,
        )
        yield counter(
            "transport_connect_count",
            "Number of connections established over each transport.",
            ["transport"],
            items1(self._connects),
            s,
        )
        yield counter(
            "transport_messages_sent",
            "Number of messages sent to client connections over each transport.",
            ["transport"],
            items1(self._transport_sent),
            s,
        )
        yield from self._api_families(s)
        yield from self._proxy.families(s)

    def _node_gauges(self, with_samples: bool) -> Iterator[Metric]:
        st = self.state
        for name, doc, attr in _NODE_GAUGES:
            family = GaugeMetricFamily(f"{NS}_{name}", doc)
            if with_samples and st is not None:
                fn: Callable[[], int] = getattr(st, attr)
                try:
                    family.add_metric([], float(fn()))
                except Exception:  # a broken provider must not break the whole scrape
                    log.exception("metrics: %s provider failed", name)
            yield family

    def _api_families(self, with_samples: bool) -> Iterator[Metric]:
        summary = SummaryMetricFamily(
            f"{NS}_api_command_duration_seconds",
            "Duration of server API commands.",
            labels=["protocol", "method"],
        )
        histogram = HistogramMetricFamily(
            f"{NS}_api_command_duration_seconds_histogram",
            "Histogram of the duration of server API commands.",
            labels=["protocol", "method"],
        )
        if with_samples:
            les = self._api_les
            for labels, h in list(self._api.items()):
                summary.add_metric(labels, h.count, h.sum)
                cumulative: list[tuple[str, float]] = []
                total = 0
                for le, n in zip(les, h.buckets, strict=True):
                    total += n
                    cumulative.append((le, total))
                histogram.add_metric(labels, cumulative, h.sum)
        yield summary
        yield histogram


__all__ = ["DEFAULT_BUCKETS", "Metrics", "NodeState"]
