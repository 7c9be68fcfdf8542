"""Routes of the HTTP-based client transports for ``HttpRoutes.extra_external``.

``client_routes`` returns ``(method, path, handler)`` triples for http_stream, sse, the
emulation endpoint (on whenever http_stream or sse is), uni_websocket, uni_sse and
uni_http_stream, as enabled in :class:`ClientTransportOptions`.  Every route is registered for
all methods (``*``): the handlers answer 405/200 for other methods themselves, as v4 does.
CORS (docs/transports.md#common-rules) wraps http_stream, sse, emulation, uni_sse and
uni_http_stream; connection limits (503) apply to every endpoint that opens a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.node import Node
from .cors import Cors
from .emulation import EmulationHandler
from .http_stream import HttpStreamHandler
from .limits import ConnectionLimiter
from .origin import OriginChecker
from .sse import SseHandler
from .uni_http_stream import UniHttpStreamHandler
from .uni_sse import UniSseHandler
from .uni_websocket import UniWebSocketHandler
from .websocket import Deflater

Route = tuple[str, str, Callable[..., object]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientTransportOptions:
    """The Centrifugo v4 options of these transports (names as in the config,
    docs/configuration.md)."""

    http_stream: bool = False
    http_stream_handler_prefix: str = "/connection/http_stream"
    http_stream_max_request_body_size: int = 65536
    sse: bool = False
    sse_handler_prefix: str = "/connection/sse"
    sse_max_request_body_size: int = 65536
    emulation_handler_prefix: str = "/emulation"
    emulation_max_request_body_size: int = 65536
    uni_websocket: bool = False
    uni_websocket_handler_prefix: str = "/connection/uni_websocket"
    uni_websocket_message_size_limit: int = 65536
    uni_websocket_ping_interval: float = 25.0
    uni_websocket_compression: bool = False
    uni_websocket_compression_level: int = 1
    uni_websocket_compression_min_size: int = 0
    uni_sse: bool = False
    uni_sse_handler_prefix: str = "/connection/uni_sse"
    uni_sse_max_request_body_size: int = 65536
    uni_http_stream: bool = False
    uni_http_stream_handler_prefix: str = "/connection/uni_http_stream"
    uni_http_stream_max_request_body_size: int = 65536


def route_path(prefix: str) -> str:
    """Handler prefixes are right-trimmed of ``/``; an empty one means ``/``
    (docs/configuration.md#endpoints-and-ports)."""
    return prefix.rstrip("/") or "/"


def client_routes(
    node: Node,
    options: ClientTransportOptions,
    limiter: ConnectionLimiter,
    origins: OriginChecker,
) -> list[Route]:
    """Routes of the enabled transports (empty when none is enabled)."""
    o = options
    cors = Cors(origins)
    routes: list[Route] = []
    if o.http_stream:
        h = HttpStreamHandler(
            node, limiter=limiter, max_request_body_size=o.http_stream_max_request_body_size
        )
        routes.append(
            ("*", route_path(o.http_stream_handler_prefix), cors.wrap(h.handle, options_ok=True))
        )
    if o.sse:
        s = SseHandler(node, limiter=limiter, max_request_body_size=o.sse_max_request_body_size)
        routes.append(
            ("*", route_path(o.sse_handler_prefix), cors.wrap(s.handle, options_ok=False))
        )
    if o.http_stream or o.sse:
        e = EmulationHandler(node, max_request_body_size=o.emulation_max_request_body_size)
        routes.append(
            ("*", route_path(o.emulation_handler_prefix), cors.wrap(e.handle, options_ok=True))
        )
    if o.uni_websocket:
        w = UniWebSocketHandler(
            node,
            origins=origins,
            limiter=limiter,
            message_size_limit=o.uni_websocket_message_size_limit,
            ping_interval=o.uni_websocket_ping_interval,
            deflate=Deflater(
                level=o.uni_websocket_compression_level,
                min_size=o.uni_websocket_compression_min_size,
            )
            if o.uni_websocket_compression
            else None,
        )
        routes.append(("GET", route_path(o.uni_websocket_handler_prefix), w.handle))
    if o.uni_sse:
        u = UniSseHandler(
            node, limiter=limiter, max_request_body_size=o.uni_sse_max_request_body_size
        )
        routes.append(
            ("*", route_path(o.uni_sse_handler_prefix), cors.wrap(u.handle, options_ok=False))
        )
    if o.uni_http_stream:
        hs = UniHttpStreamHandler(
            node, limiter=limiter, max_request_body_size=o.uni_http_stream_max_request_body_size
        )
        routes.append(
            (
                "*",
                route_path(o.uni_http_stream_handler_prefix),
                cors.wrap(hs.handle, options_ok=True),
            )
        )
    return routes
