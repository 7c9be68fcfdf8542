"""Which proxy handles a call: the routing table of one configuration (docs/proxy.md).

Simple mode: connect, refresh and rpc go to their endpoint when it is set; subscribe, publish
and sub_refresh go to theirs for namespaces with ``proxy_subscribe`` / ``proxy_publish`` /
``proxy_sub_refresh``.  Granular mode: by ``connect_proxy_name`` and ``refresh_proxy_name``,
by the namespace's ``subscribe_proxy_name`` / ``publish_proxy_name`` /
``sub_refresh_proxy_name``, and by ``rpc_proxy_name`` at top level or of the RPC namespace
(the part of the method before ``rpc_namespace_boundary``).

A table is immutable; a reload builds a new one over the same :class:`Connections`, so
endpoints that stay keep their warm connections.
"""

from __future__ import annotations

from ..config import ChannelOptions, Config
from ..protocol import codes as c
from .caller import Proxy
from .metrics import ProxyMetrics
from .pool import Connections, Key, key_of
from .settings import proxy_settings

_CHANNEL_KINDS = ("subscribe", "publish", "sub_refresh")


class ProxyRoutes:
    """The proxies of one configuration.  ``connect`` / ``refresh``: the proxy of that type,
    or None when there is none (then a refresh is the client's job)."""

    def __init__(self, cfg: Config, connections: Connections, metrics: ProxyMetrics) -> None:
        """Raises OSError when a gRPC proxy's ``grpc_cert_file`` cannot be read."""
        granular = cfg.granular_proxy_mode
        settings = proxy_settings(cfg)
        pool = cfg.proxy_http_pool_size
        self.granular = granular
        self.proxies = {
            name: Proxy(s, connections.transport(s, pool), metrics, granular=granular)
            for name, s in settings.items()
        }
        self.keys: frozenset[Key] = frozenset(key_of(s, pool) for s in settings.values())
        self.max_timeout = max((s.timeout for s in settings.values()), default=0.0)
        if granular:
            self.connect = self.proxies.get(cfg.connect_proxy_name)
            self.refresh = self.proxies.get(cfg.refresh_proxy_name)
            self._rpc_top = self.proxies.get(cfg.rpc_proxy_name)
        else:
            self.connect = self.proxies.get("connect")
            self.refresh = self.proxies.get("refresh")
            self._rpc_top = self.proxies.get("rpc")
        self._rpc_boundary = cfg.rpc_namespace_boundary
        self._rpc_namespaces = {r.name: r.rpc_proxy_name for r in cfg.rpc_namespaces}

    def channel_proxy(self, kind: str, o: ChannelOptions) -> Proxy | None:
        """The ``kind`` proxy (subscribe, publish or sub_refresh) of a namespace with options
        ``o``; None when the namespace does not use one for ``kind``.  Raises ReplyError 108
        when it does but no such proxy is configured (simple mode without the endpoint)."""
        assert kind in _CHANNEL_KINDS
        if self.granular:
            name: str = getattr(o, f"{kind}_proxy_name")
        else:
            name = kind if getattr(o, f"proxy_{kind}") else ""
        if not name:
            return None
        proxy = self.proxies.get(name)
        if proxy is None:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)
        return proxy

    def rpc_proxy(self, method: str) -> Proxy:
        """The proxy answering RPC ``method``: 108 when there is none; in granular mode 104
        for a method whose RPC namespace is not configured."""
        if self.granular and self._rpc_boundary and self._rpc_boundary in method:
            ns = method.split(self._rpc_boundary, 1)[0]
            name = self._rpc_namespaces.get(ns)
            if name is None:
                raise c.ReplyError(c.ERROR_METHOD_NOT_FOUND)
            proxy = self.proxies.get(name) if name else None
        else:
            proxy = self._rpc_top
        if proxy is None:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)
        return proxy
