"""The grpc.aio servers: server API, unidirectional stream and bidirectional stream.

Each enabled service gets its own listener (v4: ``grpc_api_port`` 10000, ``uni_grpc_port``
11000; gyre: ``grpc_stream_port`` 11001), optional TLS, a max receive message size and the
standard ``grpc.health.v1.Health`` service (grpcio-health-checking): SERVING while the node
is up, NOT_SERVING from ``set_not_serving()`` on (the composition root calls it when a
graceful shutdown starts).  ``grpc_api_reflection`` adds server reflection to the API server.

This module never reads ``Config``: the composition root builds ``GrpcOptions``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ..api.executor import Executor
from ..api.grpc import SERVICE_NAME as API_SERVICE
from ..api.grpc import CentrifugoApiService
from ..core.node import Node
from ..transports.grpc_stream import SERVICE_NAME as STREAM_SERVICE
from ..transports.grpc_stream import GrpcStreamHandler
from ..transports.grpc_uni import SERVICE_NAME as UNI_SERVICE
from ..transports.grpc_uni import GrpcUniHandler
from ..transports.limits import ConnectionLimiter
from .tls import ServerTls

log = logging.getLogger("gyre.grpc")

HEALTH_SERVICE = "grpc.health.v1.Health"

# Keepalive of the client-stream servers (v4 uni_grpc): ping every 25 s, 5 s timeout; clients
# may ping at most every 5 s.
_STREAM_KEEPALIVE = (
    ("grpc.keepalive_time_ms", 25_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


TlsOptions = ServerTls
"""A listener's server certificate; a client CA turns on mutual TLS (shared with HTTP)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenerOptions:
    """One gRPC listener; ``address`` "" = all interfaces; port 0 = pick a free one.

    ``max_receive_message_size`` 0 keeps grpcio's default (4 MiB).
    """

    enabled: bool = False
    address: str = ""
    port: int = 0
    tls: TlsOptions | None = None
    max_receive_message_size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GrpcOptions:
    """Everything ``start_grpc_servers`` needs (built from ``Config`` by the app)."""

    api: ListenerOptions = field(default_factory=ListenerOptions)
    api_key: str = ""
    api_reflection: bool = False
    uni: ListenerOptions = field(default_factory=ListenerOptions)
    stream: ListenerOptions = field(default_factory=ListenerOptions)
    connection_limit: int = 0
    connection_rate_limit: int = 0


class _Health(health.aio.HealthServicer):  # type: ignore[misc]
    """The package's asyncio Health servicer plus a synchronous switch to NOT_SERVING."""

    def __init__(self, services: list[str]) -> None:
        super().__init__()
        self._notify_tasks: set[asyncio.Task[None]] = set()
        self._not_serving = False
        for name in services:
            self._server_status[name] = health_pb2.HealthCheckResponse.SERVING

    def set_not_serving(self) -> None:
        """Every service NOT_SERVING for good (shutdown); watchers are notified."""
        if self._not_serving:
            return
        self._not_serving = True
        self._gracefully_shutting_down = True  # the base class then ignores set() calls
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)

    def follow(self, healthy: bool) -> None:
        """SERVING / NOT_SERVING after the engine's health (ignored once shutting down)."""
        if self._not_serving:
            return
        want = (
            health_pb2.HealthCheckResponse.SERVING
            if healthy
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        if any(status != want for status in self._server_status.values()):
            self._set_all(want)

    def _set_all(self, status: Any) -> None:
        for name in list(self._server_status):
            self._server_status[name] = status
        if self._server_watchers:
            task = asyncio.get_running_loop().create_task(self._notify_watchers())
            self._notify_tasks.add(task)
            task.add_done_callback(self._notify_tasks.discard)

    async def _notify_watchers(self) -> None:
        for condition in list(self._server_watchers.values()):
            async with condition:
                condition.notify_all()

    async def close(self) -> None:
        for task in list(self._notify_tasks):
            task.cancel()
        await asyncio.gather(*self._notify_tasks, return_exceptions=True)


@dataclass
class GrpcServers:
    """The running gRPC servers; ``ports`` maps "grpc_api" / "uni_grpc" / "grpc_stream"
    (enabled ones only) to the bound port."""

    ports: dict[str, int] = field(default_factory=dict)
    servers: list[Any] = field(default_factory=list)
    api_service: CentrifugoApiService | None = None  # its api_key is swapped on reload
    healths: list[_Health] = field(default_factory=list)
    _stopped: bool = False
    _watch: asyncio.Task[None] | None = None

    def follow_health(self, is_healthy: Callable[[], bool], interval: float = 1.0) -> None:
        """Poll ``is_healthy`` (engine health) and mirror it on every Health service."""

        async def loop() -> None:
            while True:
                ok = is_healthy()
                for h in self.healths:
                    h.follow(ok)
                await asyncio.sleep(interval)

        if self.healths and self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(loop())

    def set_not_serving(self) -> None:
        """Health of every server and service goes NOT_SERVING (idempotent, synchronous)."""
        for h in self.healths:
            h.set_not_serving()

    async def stop(self, grace: float | None = 5.0) -> None:
        """NOT_SERVING, then stop every server (calls still running after ``grace`` s end)."""
        if self._stopped:
            return
        self._stopped = True
        self.set_not_serving()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        await asyncio.gather(*(s.stop(grace) for s in self.servers), return_exceptions=True)
        for h in self.healths:
            await h.close()


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def server_credentials(tls: TlsOptions) -> Any:
    """``grpc.ssl_server_credentials`` from files or PEM strings (PEM wins)."""
    cert = tls.cert_pem.encode() if tls.cert_pem else _read(tls.cert_file)
    key = tls.key_pem.encode() if tls.key_pem else _read(tls.key_file)
    ca: bytes | None = None
    if tls.client_ca_pem:
        ca = tls.client_ca_pem.encode()
    elif tls.client_ca_file:
        ca = _read(tls.client_ca_file)
    return grpc.ssl_server_credentials(
        ((key, cert),), root_certificates=ca, require_client_auth=ca is not None
    )


def _bind(server: Any, listener: ListenerOptions) -> int:
    host = listener.address or "[::]"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    target = f"{host}:{listener.port}"
    try:
        if listener.tls is not None:
            port = server.add_secure_port(target, server_credentials(listener.tls))
        else:
            port = server.add_insecure_port(target)
    except RuntimeError as e:  # grpcio: "Failed to bind to address ..."
        raise OSError(f"cannot bind gRPC server to {target}: {e}") from None
    if not port:
        raise OSError(f"cannot bind gRPC server to {target}")
    return int(port)


def _server_options(listener: ListenerOptions, stream: bool) -> list[tuple[str, Any]]:
    opts: list[tuple[str, Any]] = [("grpc.so_reuseport", 0)]
    if listener.max_receive_message_size > 0:
        opts.append(("grpc.max_receive_message_length", listener.max_receive_message_size))
    if stream:
        opts.extend(_STREAM_KEEPALIVE)
    return opts


async def start_grpc_servers(
    options: GrpcOptions,
    node: Node,
    executor: Executor,
    *,
    limiter: ConnectionLimiter | None = None,
) -> GrpcServers:
    """Start every enabled gRPC server; on failure the ones already started are stopped.

    ``limiter`` (shared with WebSocket when given) applies ``client_connection_limit`` /
    ``client_connection_rate_limit`` to new stream calls.
    """
    if limiter is None:
        limiter = ConnectionLimiter(
            limit=options.connection_limit,
            rate=options.connection_rate_limit,
            count=lambda: len(node.hub.conns),
        )
    out = GrpcServers()
    try:
        if options.api.enabled:
            server = grpc.aio.server(options=_server_options(options.api, stream=False))
            out.api_service = CentrifugoApiService(executor, api_key=options.api_key)
            out.api_service.add_to_server(server)
            await _finish(out, "grpc_api", server, options.api, [API_SERVICE])
            if options.api_reflection:
                from grpc_reflection.v1alpha import reflection

                names = [API_SERVICE, HEALTH_SERVICE, reflection.SERVICE_NAME]
                reflection.enable_server_reflection(names, server)
            await server.start()
        if options.uni.enabled:
            server = grpc.aio.server(options=_server_options(options.uni, stream=True))
            server.add_generic_rpc_handlers(
                (GrpcUniHandler(node, limiter=limiter).generic_handler(),)
            )
            await _finish(out, "uni_grpc", server, options.uni, [UNI_SERVICE])
            await server.start()
        if options.stream.enabled:
            server = grpc.aio.server(options=_server_options(options.stream, stream=True))
            server.add_generic_rpc_handlers(
                (GrpcStreamHandler(node, limiter=limiter).generic_handler(),)
            )
            await _finish(out, "grpc_stream", server, options.stream, [STREAM_SERVICE])
            await server.start()
    except BaseException:
        await out.stop(0)
        raise
    return out


async def _finish(
    out: GrpcServers, name: str, server: Any, listener: ListenerOptions, services: list[str]
) -> None:
    """Add health, bind the port and record the server (started by the caller)."""
    health = _Health(["", *services])
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    out.servers.append(server)
    out.healths.append(health)
    out.ports[name] = _bind(server, listener)
    log.info(
        "gRPC %s listening on %s:%d%s",
        name,
        listener.address or "*",
        out.ports[name],
        " (TLS)" if listener.tls is not None else "",
    )


__all__ = [
    "GrpcOptions",
    "GrpcServers",
    "ListenerOptions",
    "TlsOptions",
    "server_credentials",
    "start_grpc_servers",
]
