"""Composition root: the only module that imports every layer.

``serve(cfg)`` builds the engine, policy, node, transports and API, runs until SIGTERM/SIGINT
and shuts down gracefully (clients get 3001, ``shutdown_timeout`` bounds the wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from . import __version__
from .api.admin import AdminHandler
from .api.executor import Executor
from .api.http import ApiHandler
from .config import Config, ConfigError
from .config.warnings import RELOADED, config_warnings, needs_restart
from .core.config import NodeConfig
from .core.engine import EngineError
from .core.node import Node
from .engine_options import build_engine
from .grpc_options import grpc_options, http_tls
from .logs import formatter
from .metrics import Metrics, NodeState, metrics_handler
from .policy.hooks import CentrifugoHooks
from .servers.grpc import GrpcServers, start_grpc_servers
from .servers.http import HttpRoutes, build_apps
from .servers.tls import cert_files, server_ssl_context
from .transports.http_routes import ClientTransportOptions, client_routes
from .transports.limits import ConnectionLimiter
from .transports.origin import OriginChecker
from .transports.sockjs import SockJSOptions, sockjs_routes
from .transports.v1 import ProtocolVersions
from .transports.websocket import WebSocketHandler, WebSocketOptions
from .transports.webtransport import (
    WebTransportHandler,
    WebTransportOptions,
    quic_configuration,
    serve_webtransport,
)

log = logging.getLogger("gyre")

_LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "none": logging.CRITICAL + 10,
}


def node_config(cfg: Config) -> NodeConfig:
    return NodeConfig(
        name=cfg.name,
        version=__version__,
        ping_interval=cfg.ping_interval,
        pong_timeout=cfg.pong_timeout,
        client_stale_close_delay=cfg.client_stale_close_delay,
        client_expired_close_delay=cfg.client_expired_close_delay,
        client_expired_sub_close_delay=cfg.client_expired_sub_close_delay,
        client_presence_update_interval=cfg.client_presence_update_interval,
        client_channel_position_check_delay=cfg.client_channel_position_check_delay,
        client_channel_limit=cfg.client_channel_limit,
        client_user_connection_limit=cfg.client_user_connection_limit,
        client_queue_max_size=cfg.client_queue_max_size,
        client_history_max_publication_limit=cfg.client_history_max_publication_limit,
        client_recovery_max_publication_limit=cfg.client_recovery_max_publication_limit,
        channel_max_length=cfg.channel_max_length,
    )


def client_transport_options(cfg: Config) -> ClientTransportOptions:
    """HTTP-streaming, SSE, /emulation and the unidirectional transports (docs/transports.md)."""
    return ClientTransportOptions(
        http_stream=cfg.http_stream,
        http_stream_handler_prefix=cfg.http_stream_handler_prefix,
        http_stream_max_request_body_size=cfg.http_stream_max_request_body_size,
        sse=cfg.sse,
        sse_handler_prefix=cfg.sse_handler_prefix,
        sse_max_request_body_size=cfg.sse_max_request_body_size,
        emulation_handler_prefix=cfg.emulation_handler_prefix,
        emulation_max_request_body_size=cfg.emulation_max_request_body_size,
        uni_websocket=cfg.uni_websocket,
        uni_websocket_handler_prefix=cfg.uni_websocket_handler_prefix,
        uni_websocket_message_size_limit=cfg.uni_websocket_message_size_limit,
        uni_websocket_ping_interval=cfg.uni_websocket_ping_interval,
        uni_websocket_compression=cfg.uni_websocket_compression,
        uni_websocket_compression_level=cfg.uni_websocket_compression_level,
        uni_websocket_compression_min_size=cfg.uni_websocket_compression_min_size,
        uni_sse=cfg.uni_sse,
        uni_sse_handler_prefix=cfg.uni_sse_handler_prefix,
        uni_sse_max_request_body_size=cfg.uni_sse_max_request_body_size,
        uni_http_stream=cfg.uni_http_stream,
        uni_http_stream_handler_prefix=cfg.uni_http_stream_handler_prefix,
        uni_http_stream_max_request_body_size=cfg.uni_http_stream_max_request_body_size,
    )


@dataclass
class Server:
    """A running server (used by ``serve`` and by in-process tests)."""

    cfg: Config
    node: Node
    hooks: CentrifugoHooks
    executor: Executor
    metrics: Metrics | None = None
    grpc: GrpcServers | None = None
    runners: list[web.AppRunner] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    closing: bool = False
    api: ApiHandler | None = None  # credentials swapped on reload
    admin: AdminHandler | None = None

    async def stop(self) -> None:
        """Graceful stop: refuse new work, disconnect clients with 3001, close listeners."""
        if self.closing:
            return
        self.closing = True
        self.begin_shutdown()
        await self.node.shutdown(timeout=min(self.cfg.shutdown_timeout, 5.0))
        for runner in self.runners:
            await runner.cleanup()
        for closer in self.closers:
            await closer()
        await self.hooks.close()

    def begin_shutdown(self) -> None:
        """Health goes down and new connections are refused (idempotent)."""
        if self.node.shutting_down:
            return
        self.node.shutting_down = True
        for hook in self.on_shutdown_start:
            hook()

    def reload(self, cfg: Config) -> None:
        """SIGHUP: apply the options of ``RELOADED`` (channel/namespace options, token keys,
        proxies, ``api_key``, ``admin_password``, ``admin_secret``, ``grpc_api_key``);
        connections stay.  Raises, changing nothing, when the new proxies cannot be built.

        Logs every other changed option as needing a restart, then the config warnings.
        ``self.cfg`` is the configuration in effect: the new one for ``RELOADED`` options,
        the one the server started with for the others.
        """
        self.hooks.reload(cfg)
        if self.api is not None:
            self.api.api_key = cfg.api_key
        if self.admin is not None:
            self.admin.password, self.admin.secret = cfg.admin_password, cfg.admin_secret
        if self.grpc is not None and self.grpc.api_service is not None:
            self.grpc.api_service.api_key = cfg.grpc_api_key
        restart = needs_restart(self.cfg, cfg)
        self.cfg = dataclasses.replace(self.cfg, **{k: getattr(cfg, k) for k in RELOADED})
        log.info(
            "configuration reloaded: channel options, token keys, proxies and API/admin credentials"
        )
        if restart:
            log.warning("changed options need a restart to take effect: %s", ", ".join(restart))
        log_config_warnings(cfg)

    on_shutdown_start: list[Callable[[], None]] = field(default_factory=list)
    closers: list[Callable[[], Any]] = field(default_factory=list)


async def start_server(cfg: Config) -> Server:
    """Build and start every listener; ports of ``0`` are resolved into ``Server.ports``."""
    log_config_warnings(cfg)
    broker, presence = build_engine(cfg)
    metrics = Metrics(registry=CollectorRegistry(), version=__version__) if cfg.prometheus else None
    hooks = CentrifugoHooks(cfg, proxy_metrics=metrics)
    node = Node(
        config=node_config(cfg), broker=broker, presence=presence, hooks=hooks, metrics=metrics
    )
    if metrics is not None:
        metrics.set_node_state(
            NodeState(
                num_clients=lambda: len(node.hub.conns),
                num_users=lambda: len(node.hub.users),
                num_subscriptions=node.hub.num_subscriptions,
                num_channels=lambda: len(node.hub.channels),
                num_nodes=lambda: len(node.cluster.live_nodes()),
            )
        )
    await node.start()
    executor = Executor(node, hooks, observe=metrics.api_command if metrics is not None else None)
    server = Server(cfg=cfg, node=node, hooks=hooks, executor=executor, metrics=metrics)

    limiter = ConnectionLimiter(
        limit=cfg.client_connection_limit,
        rate=cfg.client_connection_rate_limit,
        count=lambda: len(node.hub.conns),
        on_limit=metrics.connection_limit_reached if metrics is not None else None,
    )
    origins = OriginChecker(cfg.allowed_origins)
    versions = ProtocolVersions(
        v1_by_default=cfg.use_client_protocol_v1_by_default,
        v1_disabled=cfg.disable_client_protocol_v1,
    )
    ws = None
    if not cfg.websocket_disable:
        ws = WebSocketHandler(
            node,
            origins=origins,
            limiter=limiter,
            options=WebSocketOptions(
                message_size_limit=cfg.websocket_message_size_limit,
                write_timeout=cfg.websocket_write_timeout,
                compression=cfg.websocket_compression,
                compression_level=cfg.websocket_compression_level,
                compression_min_size=cfg.websocket_compression_min_size,
                ping_interval=cfg.websocket_ping_interval,
                versions=versions,
            ),
        )
    api = None
    if not cfg.api_disable:
        api = ApiHandler(
            executor,
            api_key=cfg.api_key,
            insecure=cfg.api_insecure,
            is_shutting_down=lambda: node.shutting_down,
        )
    server.api = api
    routes = HttpRoutes(
        websocket=ws,
        websocket_path=cfg.websocket_handler_prefix,
        api=api,
        api_path=cfg.api_handler_prefix,
        api_external=cfg.api_external,
        health=cfg.health,
        health_path=cfg.health_handler_prefix,
        is_healthy=lambda: not node.shutting_down and node.broker.healthy(),
    )
    routes.extra_external.extend(
        client_routes(node, client_transport_options(cfg), limiter, origins)
    )
    if cfg.sockjs:
        sockjs_handler, sockjs = sockjs_routes(
            node,
            SockJSOptions(
                prefix=cfg.sockjs_handler_prefix,
                url=cfg.sockjs_url,
                heartbeat_delay=cfg.sockjs_heartbeat_delay,
                message_size_limit=cfg.websocket_message_size_limit,
                write_timeout=cfg.websocket_write_timeout,
                versions=versions,
            ),
            limiter,
            origins,
        )
        routes.extra_external.extend(sockjs)
        server.closers.append(sockjs_handler.close)
    if metrics is not None:
        routes.extra_internal.append(
            (
                "*",
                cfg.prometheus_handler_prefix.rstrip("/") or "/",
                metrics_handler(metrics.registry),
            )
        )
    if cfg.admin:
        admin = AdminHandler(
            ApiHandler(
                executor, api_key="", insecure=True, is_shutting_down=lambda: node.shutting_down
            ),
            password=cfg.admin_password,
            secret=cfg.admin_secret,
            insecure=cfg.admin_insecure,
            web_path=cfg.admin_web_path,
            web_proxy_address=cfg.admin_web_proxy_address,
        )
        server.admin = admin
        (routes.extra_external if cfg.admin_external else routes.extra_internal).extend(
            admin.routes(cfg.admin_handler_prefix)
        )
    separate = bool(cfg.internal_port) and (
        str(cfg.internal_port) != str(cfg.port) or cfg.internal_address != cfg.address
    )
    external, internal = build_apps(routes, separate_internal=separate)
    listeners = [("external", external, cfg.address, int(cfg.port))]
    if internal is not None:
        listeners.append(
            ("internal", internal, cfg.internal_address or cfg.address, int(cfg.internal_port))
        )
    try:
        for name, app, address, port in listeners:
            runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            server.runners.append(runner)
            tls = cfg.tls and (name == "external" or not cfg.tls_external)
            ssl_ctx = server_ssl_context(http_tls(cfg)) if tls else None
            # the OS limit as listen backlog, as Go's net.Listen: a connect storm queues in the
            # kernel instead of being dropped (aiohttp's default is 128; bench/proxy_bench.py)
            site = web.TCPSite(
                runner,
                address or None,
                port,
                reuse_address=True,
                ssl_context=ssl_ctx,
                backlog=socket.SOMAXCONN,
            )
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            server.ports[name] = sockets[0].getsockname()[1] if sockets else port
        if "internal" not in server.ports:
            server.ports["internal"] = server.ports["external"]
        if cfg.http3:
            await _start_http3(server, cfg, limiter, origins)
        grpc_servers = await start_grpc_servers(
            grpc_options(cfg),
            node,
            executor,
            limiter=limiter,
        )
    except BaseException:
        # a listener failed (port in use, bad certificate...): release what was started
        for closer in server.closers:
            await closer()
        for runner in server.runners:
            await runner.cleanup()
        await node.close()
        await hooks.close()
        raise
    server.grpc = grpc_servers
    server.ports.update(grpc_servers.ports)
    server.on_shutdown_start.append(grpc_servers.set_not_serving)
    grpc_servers.follow_health(node.broker.healthy)
    server.closers.append(lambda: grpc_servers.stop(grace=min(cfg.shutdown_timeout, 5.0)))
    return server


async def _start_http3(
    server: Server, cfg: Config, limiter: ConnectionLimiter, origins: OriginChecker
) -> None:
    """HTTP/3 (UDP) on the external port number; it serves WebTransport sessions."""
    with cert_files(http_tls(cfg)) as (c, k):
        quic = quic_configuration(c, k)
    handler = WebTransportHandler(
        server.node,
        origins=origins,
        limiter=limiter,
        options=WebTransportOptions(
            path=cfg.webtransport_handler_prefix if cfg.webtransport else "",
            message_size_limit=cfg.websocket_message_size_limit,
            write_timeout=cfg.websocket_write_timeout,
        ),
    )
    h3 = await serve_webtransport(handler, cfg.address or "0.0.0.0", server.ports["external"], quic)
    server.ports["http3"] = server.ports["external"]

    async def close() -> None:
        h3.close()

    server.closers.append(close)


def log_config_warnings(cfg: Config) -> None:
    """Log ``config_warnings`` (ignored options, insecure modes), one warning each."""
    for line in config_warnings(cfg):
        log.warning("%s", line)


def _setup_logging(cfg: Config) -> None:
    level = _LOG_LEVELS.get(cfg.log_level.lower(), logging.INFO)
    handler: logging.Handler
    handler = (
        logging.FileHandler(cfg.log_file) if cfg.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(formatter(cfg.log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# The cyclic collector's thresholds (CPython's default: 700, 10, 10).  A full collection walks
# every object of every connection (1.2-1.5 s at 19,000 connections, the loop stalled
# meanwhile); with the default it ran each time the heap grew by a quarter, 13 times while
# 19,000 clients connected.  Measured (bench/limits_bench.py scale, 19,000): connecting them
# 7.2 s instead of 10.4 s (GC 0.6 s instead of 3.5 s), docs/performance.md#idle-connections.
GC_THRESHOLDS = (7000, 10, 100)


async def _main(cfg: Config, reloader: Callable[[], Config] | None) -> int:
    try:
        server = await start_server(cfg)
    except (EngineError, ConfigError) as e:  # e.g. Redis unreachable or its address unusable
        log.error("cannot start: %s", e)
        return 1
    gc.collect()
    gc.freeze()  # long-lived startup objects leave the GC's young generations
    gc.set_threshold(*GC_THRESHOLDS)
    log.info(
        "gyre %s serving on %s:%s (engine %s%s, node %s)",
        __version__,
        cfg.address or "0.0.0.0",
        server.ports["external"],
        cfg.engine,
        f", broker {cfg.broker}" if cfg.broker else "",
        server.node.id,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if reloader is not None:
        loop.add_signal_handler(signal.SIGHUP, lambda: _reload(server, reloader))
    await stop.wait()
    log.info("shutting down")
    server.begin_shutdown()  # health goes 503, new connections are refused
    if cfg.shutdown_termination_delay > 0:
        await asyncio.sleep(cfg.shutdown_termination_delay)
    try:
        await asyncio.wait_for(server.stop(), timeout=cfg.shutdown_timeout)
    except TimeoutError:
        log.warning("shutdown timed out")
    return 0


def _reload(server: Server, reloader: Callable[[], Config]) -> None:
    """SIGHUP: load and validate the config again; an invalid one is refused, old one kept."""
    try:
        cfg = reloader()
        server.reload(cfg)
    except Exception as e:
        log.error("reload refused, keeping the running configuration: %s", e)


def serve(cfg: Config, *, reloader: Callable[[], Config] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; returns the process exit code.

    ``pid_file`` (v4): the process id is written there at start and the file removed at exit.
    ``reloader`` (given by the CLI) re-reads file, env and flags for SIGHUP reloads.
    """
    try:
        _setup_logging(cfg)
    except OSError as e:  # log_file cannot be opened: nowhere to log but stderr
        print(f"error: cannot open log file: {e}", file=sys.stderr)
        return 1
    if cfg.pid_file:
        try:
            with open(cfg.pid_file, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as e:
            log.error("cannot write pid file: %s", e)
            return 1
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    try:
        return asyncio.run(_main(cfg, reloader))
    except OSError as e:
        log.error("cannot start: %s", e)
        return 1
    finally:
        if cfg.pid_file:
            with contextlib.suppress(OSError):
                os.remove(cfg.pid_file)
