"""One configured proxy: its settings, its transport, and the bookkeeping of every call."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..config import ProxyConfig
from .messages import Kind, ReqT, RespT
from .metrics import ProxyMetrics
from .transport import ProxyFailure, ProxyTransport

if TYPE_CHECKING:
    from ..core.client import ClientSession

log = logging.getLogger("gyre.proxy")

#: Client transports whose "headers" are gRPC metadata (forwarded by ``grpc_metadata``).
GRPC_CLIENT_TRANSPORTS = frozenset({"uni_grpc", "grpc_stream"})


class Proxy:
    """Calls one backend endpoint for the proxy types routed to it."""

    __slots__ = ("granular", "metrics", "settings", "transport")

    def __init__(
        self,
        settings: ProxyConfig,
        transport: ProxyTransport,
        metrics: ProxyMetrics,
        *,
        granular: bool,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.metrics = metrics
        self.granular = granular

    def headers(self, client: ClientSession) -> dict[str, str]:
        """The client's connecting-request headers named in ``http_headers`` (HTTP-based
        transports) or its gRPC metadata named in ``grpc_metadata`` (gRPC transports)."""
        got = client.request_headers
        if not got:
            return {}
        s = self.settings
        names = (
            s.grpc_metadata if client.transport.name in GRPC_CLIENT_TRANSPORTS else s.http_headers
        )
        return {n: got[n] for n in names if n in got}

    async def call(self, kind: Kind[ReqT, RespT], request: ReqT, client: ClientSession) -> RespT:
        """Send ``request``; the response, or :class:`ProxyFailure` (logged and counted)."""
        s = self.settings
        name = s.name if self.granular else ""
        started = time.perf_counter()
        try:
            response = await self.transport.call(kind, request, self.headers(client), s.timeout)
        except ProxyFailure as e:
            self.metrics.proxy_call(
                kind.name, self.transport.protocol, name, "failure", time.perf_counter() - started
            )
            label = f"{kind.name} {s.name}" if self.granular else kind.name
            log.error("proxy %s (%s) failed for client %s: %s", label, s.endpoint, client.id, e)
            raise
        if getattr(response, "disconnect", None) is not None:
            outcome = "disconnect"
        elif getattr(response, "error", None) is not None:
            outcome = "error"
        elif getattr(response, "result", None) is not None:
            outcome = "result"
        else:
            outcome = "empty"
        self.metrics.proxy_call(
            kind.name, self.transport.protocol, name, outcome, time.perf_counter() - started
        )
        return response
