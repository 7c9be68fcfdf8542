"""Text exposition: Go-client counter names (no ``_total``/``_created``) and the handler."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from service.metrics import Metrics, metrics_handler, render

from .helpers import parse, value


def _metrics() -> tuple[Metrics, CollectorRegistry]:
    registry = CollectorRegistry()
    return Metrics(registry=registry, version="v", standard_collectors=False), registry


def test_counters_use_go_names() -> None:
    m, registry = _metrics()
    m.message_sent("publication", 2)
    m.disconnect(3001)
    text = render(registry).decode()
    assert "# TYPE centrifugo_node_messages_sent_count counter\n" in text
    assert "# HELP centrifugo_node_messages_sent_count " in text
    assert 'centrifugo_node_messages_sent_count{type="publication"} 2.0\n' in text
    assert 'centrifugo_client_num_server_disconnects{code="3001"} 1.0\n' in text
    assert "centrifugo_node_client_connection_limit 0.0\n" in text
    assert not re.search(r"^centrifugo\w*_(total|created)\b", text, re.M)
    assert "_created" not in text


def test_every_sample_line_belongs_to_its_type_line() -> None:
    """Each sample name is the TYPE name or a summary/histogram suffix of it."""
    m, registry = _metrics()
    m.command("connect", 0.1, 101)
    m.api_command("http", "publish", 0.1)
    current = ""
    for line in render(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            current = line.split()[2]
        elif not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
            assert name is not None
            assert name.group(0) in {
                current,
                current + "_count",
                current + "_sum",
                current + "_bucket",
            }, line


def test_plain_generate_latest_stays_valid() -> None:
    """Without :func:`render` the counters are exposed untyped, with the same sample names."""
    m, registry = _metrics()
    m.connect("websocket")
    families = parse(generate_latest(registry))
    fam = families["centrifugo_transport_connect_count"]
    assert fam.type == "unknown"
    assert value(families, "centrifugo_transport_connect_count", transport="websocket") == 1


def test_label_values_are_escaped() -> None:
    m, registry = _metrics()
    odd = 'we"ird\\name\nx'
    m.connect(odd)
    families = parse(render(registry))
    assert value(families, "centrifugo_transport_connect_count", transport=odd) == 1


def test_families_sorted_by_name() -> None:
    _, registry = _metrics()
    names = [f.name for f in registry.collect()]
    assert names == sorted(names)


async def test_handler_serves_exposition() -> None:
    m, registry = _metrics()
    m.connect("websocket")
    handler = metrics_handler(registry)
    resp = await handler(make_mocked_request("GET", "/metrics"))
    assert isinstance(resp, web.Response)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
    body = resp.body
    assert isinstance(body, bytes)
    families = parse(body)
    assert value(families, "centrifugo_transport_connect_count", transport="websocket") == 1


async def test_handler_gzip_when_accepted() -> None:
    _, registry = _metrics()
    handler = metrics_handler(registry)
    req = make_mocked_request("GET", "/metrics", headers={"Accept-Encoding": "gzip, deflate"})
    resp = await handler(req)
    await resp.prepare(req)
    assert resp.headers.get("Content-Encoding") == "gzip"  # as Go promhttp: gzip only


async def test_handler_uncompressed_by_default() -> None:
    _, registry = _metrics()
    req = make_mocked_request("GET", "/metrics")
    resp = await metrics_handler(registry)(req)
    await resp.prepare(req)
    assert "Content-Encoding" not in resp.headers
