"""Proxies: connect, refresh, subscribe, publish, rpc and sub_refresh calls to the
application backend over HTTP (JSON) or gRPC (``CentrifugoProxy``), as Centrifugo v4 makes
them (docs/proxy.md).

* ``messages``  — the request/response messages (proto ``centrifugal.centrifugo.proxy``);
* ``transport`` — the one interface of a proxy transport; ``http`` and ``grpc`` adapt it;
* ``pool``      — the HTTP sessions and gRPC channels, shared and closed in one place;
* ``caller``    — one configured proxy: forwarded headers, timeout, metrics, logging;
* ``convert``   — commands to requests, answers to outcomes (the only place that does it);
* ``routing``   — which proxy serves which call, in simple and granular mode.

The policy layer (``service.policy``) calls these from its core hooks; the core never
imports this package.
"""

from .caller import Proxy
from .convert import (
    ConnectGrant,
    PublishGrant,
    RefreshGrant,
    SubRefreshGrant,
    SubscribeGrant,
    call_connect,
    call_publish,
    call_refresh,
    call_rpc,
    call_sub_refresh,
    call_subscribe,
)
from .metrics import NullProxyMetrics, ProxyMetrics
from .pool import Connections
from .routing import ProxyRoutes
from .transport import ProxyFailure, ProxyTransport

__all__ = [
    "ConnectGrant",
    "Connections",
    "NullProxyMetrics",
    "Proxy",
    "ProxyFailure",
    "ProxyMetrics",
    "ProxyRoutes",
    "ProxyTransport",
    "PublishGrant",
    "RefreshGrant",
    "SubRefreshGrant",
    "SubscribeGrant",
    "call_connect",
    "call_publish",
    "call_refresh",
    "call_rpc",
    "call_sub_refresh",
    "call_subscribe",
]
