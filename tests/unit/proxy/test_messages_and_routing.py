"""Proxy messages on the wire (JSON names, omitted zeros, raw payloads, protobuf mapping),
the settings of both configuration modes and the routing of calls (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from centrifugal.centrifugo.proxy import proxy_pb2
from msgspec import Raw

from service.config import ChannelOptions, Config, NamespaceConfig, ProxyConfig
from service.config import RpcNamespaceConfig as Rpc
from service.protocol import codes as c
from service.proxy import Connections, NullProxyMetrics, ProxyRoutes
from service.proxy import messages as pm
from service.proxy.grpc import from_pb, to_pb
from service.proxy.settings import proxy_settings

PREFIX = {"client": "c", "transport": "sse", "protocol": "protobuf", "encoding": "binary"}


def test_json_names_and_omitted_zeros() -> None:
    enc = msgspec.json.encode
    assert enc(pm.RefreshRequest(**PREFIX, user="")) == (
        b'{"client":"c","transport":"sse","protocol":"protobuf","encoding":"binary","user":""}'
    )
    assert enc(pm.ConnectRequest(**PREFIX, b64data="eyJ9", channels=["a"])).endswith(
        b'"encoding":"binary","b64data":"eyJ9","channels":["a"]}'
    )
    sub = pm.SubscribeRequest(**PREFIX, user="u", channel="ch", meta=Raw(b'{"m":1}'))
    assert enc(sub).endswith(b'"user":"u","channel":"ch","meta":{"m":1}}')


def test_response_decoding_keeps_raw_json_and_unknown_keys_are_ignored() -> None:
    body = b'{"result":{"user":"7","info":{"a":[1]},"channels":["x"],"future":1},"x":2}'
    r = msgspec.json.decode(body, type=pm.ConnectResponse)
    assert r.result is not None and bytes(r.result.info) == b'{"a":[1]}'
    assert r.result.channels == ["x"] and r.error is None
    assert msgspec.json.decode(b"{}", type=pm.ConnectResponse).result is None
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"error":{"code":"x"}}', type=pm.ConnectResponse)


def test_protobuf_mapping_both_ways() -> None:
    req = pm.PublishRequest(**PREFIX, user="u", channel="ch", data=Raw(b"\x00\x01"))
    msg = to_pb(req, proxy_pb2.PublishRequest)
    assert msg.data == b"\x00\x01" and msg.user == "u" and msg.encoding == "binary"
    resp = proxy_pb2.SubscribeResponse(
        result=proxy_pb2.SubscribeResult(
            info=b"i",
            override=proxy_pb2.SubscribeOptionOverride(presence=proxy_pb2.BoolValue(value=False)),
        )
    )
    r = from_pb(resp, pm.SubscribeResponse)
    assert r.result is not None and bytes(r.result.info) == b"i"
    assert r.result.override is not None and r.result.override.presence == pm.BoolValue()
    assert r.result.override.join_leave is None


def test_simple_settings_share_options_and_lowercase_headers() -> None:
    cfg = Config(
        proxy_connect_endpoint="http://b/connect",
        proxy_rpc_endpoint="grpc://b:1",
        proxy_rpc_timeout=3.0,
        proxy_http_headers=("Cookie", "Content-Length", "X-Real-IP"),
        proxy_grpc_metadata=("Authorization",),
        proxy_binary_encoding=True,
    )
    s = proxy_settings(cfg)
    assert set(s) == {"connect", "rpc"}
    assert s["rpc"].timeout == 3.0 and s["connect"].timeout == 1.0
    assert s["connect"].http_headers == ("cookie", "x-real-ip")  # hop-by-hop left out
    assert s["connect"].grpc_metadata == ("authorization",)
    assert s["rpc"].binary_encoding


@pytest.fixture
async def conns() -> AsyncIterator[Connections]:
    c = Connections()
    yield c
    await c.close()


def _routes(conns: Connections, **kw: Any) -> ProxyRoutes:
    return ProxyRoutes(Config(**kw), conns, NullProxyMetrics())


async def test_simple_mode_routes(conns: Connections) -> None:
    r = _routes(
        conns,
        proxy_connect_endpoint="http://b/connect",
        proxy_subscribe_endpoint="http://b/subscribe",
        proxy_rpc_endpoint="http://b/rpc",
    )
    assert r.connect is not None and r.connect.settings.endpoint == "http://b/connect"
    assert r.refresh is None
    assert r.channel_proxy("subscribe", ChannelOptions()) is None  # namespace not proxied
    sub = r.channel_proxy("subscribe", ChannelOptions(proxy_subscribe=True))
    assert sub is not None and sub.settings.name == "subscribe"
    with pytest.raises(c.ReplyError) as e:  # proxied namespace, no publish endpoint
        r.channel_proxy("publish", ChannelOptions(proxy_publish=True))
    assert e.value.error.code == 108
    assert r.rpc_proxy("any:thing").settings.name == "rpc"  # every method in simple mode
    assert len(r.keys) == 1  # one backend, one pool
    empty = _routes(conns)
    with pytest.raises(c.ReplyError) as e:
        empty.rpc_proxy("m")
    assert e.value.error.code == 108


async def test_granular_mode_routes(conns: Connections) -> None:
    r = _routes(
        conns,
        granular_proxy_mode=True,
        proxies=(
            ProxyConfig(name="auth", endpoint="http://a/connect", timeout=2.0),
            ProxyConfig(name="rpc-a", endpoint="http://a/rpc"),
            ProxyConfig(name="rpc-b", endpoint="grpc://b:7"),
        ),
        connect_proxy_name="auth",
        rpc_proxy_name="rpc-a",
        rpc_namespaces=(Rpc(name="billing", rpc_proxy_name="rpc-b"), Rpc(name="off")),
        namespaces=(
            NamespaceConfig(name="ns", options=ChannelOptions(publish_proxy_name="rpc-b")),
        ),
    )
    assert r.connect is not None and r.connect.settings.timeout == 2.0
    assert r.rpc_proxy("sum").settings.name == "rpc-a"
    assert r.rpc_proxy("billing:charge").settings.name == "rpc-b"
    for method, code in (("unknown:x", 104), ("off:x", 108)):
        with pytest.raises(c.ReplyError) as e:
            r.rpc_proxy(method)
        assert e.value.error.code == code, method
    pub = r.channel_proxy("publish", ChannelOptions(publish_proxy_name="rpc-b"))
    assert pub is not None and pub.transport.protocol == "grpc"
    assert r.max_timeout == 2.0
