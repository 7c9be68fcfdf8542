"""``service.metrics.Metrics``: Centrifugo v4 family names, label sets and values."""

from __future__ import annotations

import inspect
import os

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from service.core.metrics import NodeMetrics
from service.metrics import Metrics, NodeState

from .helpers import label_sets, scrape, value

NS = "centrifugo"

# family -> (type as parsed, label names) of Centrifugo v4
# (docs/configuration.md#endpoints-and-ports, docs/configuration.md#metrics)
FAMILIES: dict[str, tuple[str, frozenset[str]]] = {
    "centrifugo_node_num_clients": ("gauge", frozenset()),
    "centrifugo_node_num_users": ("gauge", frozenset()),
    "centrifugo_node_num_subscriptions": ("gauge", frozenset()),
    "centrifugo_node_num_channels": ("gauge", frozenset()),
    "centrifugo_node_num_nodes": ("gauge", frozenset()),
    "centrifugo_node_build": ("gauge", frozenset({"version"})),
    "centrifugo_node_messages_sent_count": ("counter", frozenset({"type"})),
    "centrifugo_node_messages_received_count": ("counter", frozenset({"type"})),
    "centrifugo_node_action_count": ("counter", frozenset({"action"})),
    "centrifugo_node_survey_duration_seconds": ("summary", frozenset({"op"})),
    "centrifugo_node_client_connection_limit": ("counter", frozenset()),
    "centrifugo_client_num_reply_errors": ("counter", frozenset({"method", "code"})),
    "centrifugo_client_num_server_disconnects": ("counter", frozenset({"code"})),
    "centrifugo_client_command_duration_seconds": ("summary", frozenset({"method"})),
    "centrifugo_client_recover": ("counter", frozenset({"recovered"})),
    "centrifugo_transport_connect_count": ("counter", frozenset({"transport"})),
    "centrifugo_transport_messages_sent": ("counter", frozenset({"transport"})),
    "centrifugo_api_command_duration_seconds": ("summary", frozenset({"protocol", "method"})),
    "centrifugo_api_command_duration_seconds_histogram": (
        "histogram",
        frozenset({"protocol", "method"}),
    ),
    # proxies: Centrifugo v4 names (simple and granular mode), plus Gyre's outcome counter
    "centrifugo_proxy_duration_seconds": ("summary", frozenset({"protocol", "type"})),
    "centrifugo_proxy_duration_seconds_histogram": ("histogram", frozenset({"protocol", "type"})),
    "centrifugo_proxy_errors": ("counter", frozenset({"protocol", "type"})),
    "centrifugo_granular_proxy_duration_seconds": ("summary", frozenset({"type", "name"})),
    "centrifugo_granular_proxy_duration_seconds_histogram": (
        "histogram",
        frozenset({"type", "name"}),
    ),
    "centrifugo_granular_proxy_errors": ("counter", frozenset({"type", "name"})),
    "centrifugo_proxy_calls": ("counter", frozenset({"type", "protocol", "name", "outcome"})),
}


class State:
    """Mutable node state behind the gauges."""

    def __init__(self) -> None:
        self.clients = 3
        self.users = 2
        self.subs = 7
        self.channels = 5
        self.nodes = 1

    def provider(self) -> NodeState:
        return NodeState(
            num_clients=lambda: self.clients,
            num_users=lambda: self.users,
            num_subscriptions=lambda: self.subs,
            num_channels=lambda: self.channels,
            num_nodes=lambda: self.nodes,
        )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def metrics(registry: CollectorRegistry, state: State) -> Metrics:
    return Metrics(registry=registry, version="1.2.3", state=state.provider())


def _exercise(m: Metrics) -> None:
    """One call of everything, so every labelled family has a sample."""
    m.command("connect", 0.001, 0)
    m.command("subscribe", 0.002, 102)
    m.recover(True)
    m.connect("websocket")
    m.disconnect(3001)
    m.message_sent("publication")
    m.message_received("join")
    m.transport_sent("websocket", 3)
    m.inc_action("history")
    m.observe_survey("channels", 0.01)
    m.connection_limit_reached()
    m.api_command("http", "publish", 0.003)
    m.proxy_call("connect", "http", "", "result", 0.004)
    m.proxy_call("rpc", "grpc", "", "failure", 1.0)
    m.proxy_call("subscribe", "http", "backend-a", "failure", 0.2)


def test_families_types_and_labels(metrics: Metrics, registry: CollectorRegistry) -> None:
    _exercise(metrics)
    fams = scrape(registry)
    for name, (typ, labels) in FAMILIES.items():
        assert name in fams, name
        assert fams[name].type == typ, name
        assert fams[name].samples, name
        assert label_sets(fams[name]) == {labels}, name
    ours = {n for n in fams if n.startswith(NS + "_")}
    assert ours == set(FAMILIES)


def test_metrics_satisfy_node_metrics_protocol(metrics: Metrics) -> None:
    """Every NodeMetrics method exists and accepts the protocol's arguments."""
    for name, fn in inspect.getmembers(NodeMetrics, inspect.isfunction):
        if name.startswith("_"):
            continue
        proto = inspect.signature(fn)
        ours = inspect.signature(getattr(metrics, name))
        args = [p.name for p in proto.parameters.values() if p.name != "self"]
        ours.bind(*args)  # positional, as the node calls them
        assert [p for p in ours.parameters][: len(args)] == args, name


def test_command_duration_and_reply_errors(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.command("connect", 0.5, 0)
    metrics.command("connect", 0.25, 0)
    metrics.command("subscribe", 0.125, 102)
    metrics.command("subscribe", 0.125, 102)
    metrics.command("subscribe", 0.125, 103)
    metrics.command("my_custom", 1.0, 0)
    f = scrape(registry)
    cmd = "centrifugo_client_command_duration_seconds"
    assert value(f, cmd + "_count", method="connect") == 2
    assert value(f, cmd + "_sum", method="connect") == 0.75
    assert value(f, cmd + "_count", method="subscribe") == 3
    assert value(f, cmd + "_count", method="my_custom") == 1
    # methods the Go client creates up front are there at zero
    assert value(f, cmd + "_count", method="presence_stats") == 0
    errors = "centrifugo_client_num_reply_errors"
    assert value(f, errors, method="subscribe", code="102") == 2
    assert value(f, errors, method="subscribe", code="103") == 1
    assert value(f, errors, method="connect", code="0") is None
    assert len(f[errors].samples) == 2


def test_recover_connect_disconnect(metrics: Metrics, registry: CollectorRegistry) -> None:
    f = scrape(registry)
    assert f["centrifugo_client_recover"].samples == []
    assert value(f, "centrifugo_transport_connect_count", transport="websocket") == 0
    metrics.recover(True)
    metrics.recover(True)
    metrics.recover(False)
    metrics.connect("websocket")
    metrics.connect("websocket")
    metrics.connect("grpc")
    metrics.disconnect(3001)
    metrics.disconnect(3008)
    metrics.disconnect(3008)
    f = scrape(registry)
    assert value(f, "centrifugo_client_recover", recovered="yes") == 2
    assert value(f, "centrifugo_client_recover", recovered="no") == 1
    connects = "centrifugo_transport_connect_count"
    assert value(f, connects, transport="websocket") == 2
    assert value(f, connects, transport="grpc") == 1
    assert value(f, connects, transport="sse") == 0
    disconnects = "centrifugo_client_num_server_disconnects"
    assert value(f, disconnects, code="3001") == 1
    assert value(f, disconnects, code="3008") == 2


def test_message_counts(metrics: Metrics, registry: CollectorRegistry) -> None:
    f = scrape(registry)
    sent, received = (
        "centrifugo_node_messages_sent_count",
        "centrifugo_node_messages_received_count",
    )
    for kind in ("publication", "join", "leave", "control"):
        assert value(f, sent, type=kind) == 0
        assert value(f, received, type=kind) == 0
    metrics.message_sent("publication")
    metrics.message_sent("publication", 4)
    metrics.message_sent("custom")
    metrics.message_received("control", 2)
    metrics.message_received("leave")
    metrics.transport_sent("websocket", 100)
    metrics.transport_sent("websocket")
    metrics.transport_sent("sse", 2)
    f = scrape(registry)
    assert value(f, sent, type="publication") == 5
    assert value(f, sent, type="custom") == 1
    assert value(f, received, type="control") == 2
    assert value(f, received, type="leave") == 1
    tsent = "centrifugo_transport_messages_sent"
    assert value(f, tsent, transport="websocket") == 101
    assert value(f, tsent, transport="sse") == 2


def test_actions_survey_connection_limit(metrics: Metrics, registry: CollectorRegistry) -> None:
    assert value(scrape(registry), "centrifugo_node_client_connection_limit") == 0
    metrics.inc_action("add_client")
    metrics.inc_action("add_client")
    metrics.inc_action("history_recover", 3)
    metrics.observe_survey("channels", 0.5)
    metrics.observe_survey("channels", 1.5)
    metrics.connection_limit_reached()
    f = scrape(registry)
    assert value(f, "centrifugo_node_action_count", action="add_client") == 2
    assert value(f, "centrifugo_node_action_count", action="history_recover") == 3
    survey = "centrifugo_node_survey_duration_seconds"
    assert value(f, survey + "_count", op="channels") == 2
    assert value(f, survey + "_sum", op="channels") == 2.0
    assert value(f, "centrifugo_node_client_connection_limit") == 1


def test_api_summary_and_histogram(metrics: Metrics, registry: CollectorRegistry) -> None:
    metrics.api_command("http", "publish", 0.005)  # on a bound: le is inclusive
    metrics.api_command("http", "publish", 0.2)
    metrics.api_command("http", "publish", 20.0)  # only in +Inf
    metrics.api_command("grpc", "broadcast", 0.001)
    f = scrape(registry)
    s = "centrifugo_api_command_duration_seconds"
    assert value(f, s + "_count", protocol="http", method="publish") == 3
    assert value(f, s + "_sum", protocol="http", method="publish") == pytest.approx(20.205)
    assert value(f, s + "_count", protocol="grpc", method="broadcast") == 1
    h = s + "_histogram"
    buckets = {
        smp.labels["le"]: smp.value
        for smp in f[h].samples
        if smp.name == h + "_bucket" and smp.labels["method"] == "publish"
    }
    assert list(buckets) == [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ]  # fmt: skip
    assert buckets["0.005"] == 1
    assert buckets["0.1"] == 1
    assert buckets["0.25"] == 2
    assert buckets["10"] == 2
    assert buckets["+Inf"] == 3
    assert value(f, h + "_count", protocol="http", method="publish") == 3
    assert value(f, h + "_sum", protocol="http", method="publish") == pytest.approx(20.205)


def test_api_command_counts_a_run_of_commands(
    metrics: Metrics, registry: CollectorRegistry
) -> None:
    """A batch run reports ``count`` commands of ``seconds`` each in one call."""
    metrics.api_command("grpc", "publish", 0.002, 16)
    metrics.api_command("grpc", "publish", 0.3)
    f = scrape(registry)
    s = "centrifugo_api_command_duration_seconds"
    assert value(f, s + "_count", protocol="grpc", method="publish") == 17
    assert value(f, s + "_sum", protocol="grpc", method="publish") == pytest.approx(0.332)
    h = s + "_histogram_bucket"
    assert value(f, h, protocol="grpc", method="publish", le="0.005") == 16
    assert value(f, h, protocol="grpc", method="publish", le="0.5") == 17


def test_custom_api_buckets(registry: CollectorRegistry) -> None:
    m = Metrics(registry=registry, version="v", api_buckets=[1, 0.1], standard_collectors=False)
    m.api_command("http", "info", 0.5)
    f = scrape(registry)
    h = "centrifugo_api_command_duration_seconds_histogram"
    les = [s.labels["le"] for s in f[h].samples if s.name == h + "_bucket"]
    assert les == ["0.1", "1", "+Inf"]


def test_node_gauges_read_at_scrape_time(
    metrics: Metrics, registry: CollectorRegistry, state: State
) -> None:
    f = scrape(registry)
    assert value(f, "centrifugo_node_num_clients") == 3
    assert value(f, "centrifugo_node_num_users") == 2
    assert value(f, "centrifugo_node_num_subscriptions") == 7
    assert value(f, "centrifugo_node_num_channels") == 5
    assert value(f, "centrifugo_node_num_nodes") == 1
    state.clients, state.nodes = 10, 3
    f = scrape(registry)
    assert value(f, "centrifugo_node_num_clients") == 10
    assert value(f, "centrifugo_node_num_nodes") == 3


def test_node_state_set_later_and_failing_provider(registry: CollectorRegistry) -> None:
    m = Metrics(registry=registry, version="v", standard_collectors=False)
    f = scrape(registry)
    assert f["centrifugo_node_num_clients"].samples == []

    def broken() -> int:
        raise RuntimeError("boom")

    m.set_node_state(NodeState(lambda: 4, broken, lambda: 0, lambda: 0, lambda: 1))
    f = scrape(registry)
    assert value(f, "centrifugo_node_num_clients") == 4
    assert f["centrifugo_node_num_users"].samples == []  # skipped, the scrape still works
    assert value(f, "centrifugo_node_num_nodes") == 1


def test_build_info(metrics: Metrics, registry: CollectorRegistry) -> None:
    f = scrape(registry)
    assert value(f, "centrifugo_node_build", version="1.2.3") == 1


def test_injected_registry_only(registry: CollectorRegistry) -> None:
    Metrics(registry=registry, version="a")
    other = CollectorRegistry()
    m2 = Metrics(registry=other, version="b")
    m2.connect("websocket")
    assert value(scrape(registry), "centrifugo_transport_connect_count", transport="websocket") == 0
    assert value(scrape(other), "centrifugo_transport_connect_count", transport="websocket") == 1
    assert REGISTRY.get_sample_value("centrifugo_node_build", {"version": "a"}) is None
    global_names = {f.name for f in REGISTRY.collect()}
    assert not {n for n in global_names if n.startswith(NS)}


def test_duplicate_registration_refused(registry: CollectorRegistry) -> None:
    Metrics(registry=registry, version="a", standard_collectors=False)
    with pytest.raises(ValueError, match="Duplicated"):
        Metrics(registry=registry, version="b", standard_collectors=False)


def test_standard_collectors(registry: CollectorRegistry) -> None:
    Metrics(registry=registry, version="a")
    f = scrape(registry)
    assert "python_info" in f
    assert "python_gc_objects_collected" in f
    if os.path.exists("/proc/self/stat"):  # the process collector reads /proc
        assert "process_resident_memory_bytes" in f
        assert "process_cpu_seconds" in f
    bare = CollectorRegistry()
    Metrics(registry=bare, version="a", standard_collectors=False)
    assert not {n for n in scrape(bare) if n.startswith(("process_", "python_"))}


def test_proxy_calls_by_mode_and_outcome(metrics: Metrics, registry: CollectorRegistry) -> None:
    """Simple-mode calls land in ``proxy_*{protocol,type}``, granular ones in
    ``granular_proxy_*{type,name}``; only failures count as errors; every call is counted
    by outcome."""
    metrics.proxy_call("connect", "http", "", "result", 0.004)
    metrics.proxy_call("connect", "http", "", "failure", 1.0)
    metrics.proxy_call("connect", "http", "", "empty", 0.002)
    metrics.proxy_call("rpc", "grpc", "b1", "error", 0.003)
    fams = scrape(registry)
    conn = {"protocol": "http", "type": "connect"}
    assert value(fams, "centrifugo_proxy_duration_seconds_count", **conn) == 3
    assert value(fams, "centrifugo_proxy_errors", **conn) == 1
    gran = {"type": "rpc", "name": "b1"}
    assert value(fams, "centrifugo_granular_proxy_duration_seconds_count", **gran) == 1
    assert value(fams, "centrifugo_granular_proxy_errors", **gran) is None
    calls = "centrifugo_proxy_calls"
    assert value(fams, calls, type="connect", protocol="http", name="", outcome="empty") == 1
    assert value(fams, calls, type="rpc", protocol="grpc", name="b1", outcome="error") == 1
