"""Build the aiohttp applications: client endpoints, server API, health.

With ``internal_port`` unset everything shares the main port (v4 default).  Otherwise the API
and health move to the internal listener unless ``api_external`` is on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from ..api.http import ApiHandler
from ..transports.websocket import WebSocketHandler


def _prefix(p: str) -> str:
    p = p.rstrip("/")
    return p or "/"


@dataclass(slots=True, kw_only=True)
class HttpRoutes:
    """Everything the HTTP servers expose; ``None`` = disabled."""

    websocket: WebSocketHandler | None
    websocket_path: str
    api: ApiHandler | None
    api_path: str
    api_external: bool
    health: bool
    health_path: str
    is_healthy: Callable[[], bool]
    extra_external: list[tuple[str, str, Callable[..., object]]] = field(default_factory=list)
    extra_internal: list[tuple[str, str, Callable[..., object]]] = field(default_factory=list)


def _health_handler(
    is_healthy: Callable[[], bool],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.Response:
        if is_healthy():
            return web.Response(text="{}", content_type="application/json")
        return web.Response(status=503, text="{}", content_type="application/json")

    return handle


async def _live(request: web.Request) -> web.Response:
    """Liveness: 200 while this process answers HTTP, whatever the engine's state.

    ``<health prefix>/live`` is for Kubernetes liveness and startup probes: a Redis outage
    makes ``/health`` 503 (readiness), and must not make every pod restart.
    """
    return web.Response(text="{}", content_type="application/json")


def live_path(health_path: str) -> str:
    """The liveness route beside ``health_path`` (``/health`` -> ``/health/live``)."""
    return health_path.rstrip("/") + "/live"


def _add_api(app: web.Application, routes: HttpRoutes) -> None:
    assert routes.api is not None
    base = _prefix(routes.api_path)
    under = "" if base == "/" else base
    app.router.add_route("*", base, routes.api.handle_v4)
    # before the /{method} catch-all, which would answer 404 for it
    app.router.add_get(under + "/openapi.json", routes.api.openapi_handler(under))
    app.router.add_route("*", under + "/{method}", routes.api.handle_method)


def build_apps(
    routes: HttpRoutes, *, separate_internal: bool
) -> tuple[web.Application, web.Application | None]:
    """Return (external app, internal app or None when both share one listener)."""
    external = web.Application(client_max_size=64 * 1024 * 1024)
    internal = web.Application(client_max_size=64 * 1024 * 1024) if separate_internal else None
    internal_target = internal if internal is not None else external
    if routes.websocket is not None:
        external.router.add_get(_prefix(routes.websocket_path), routes.websocket.handle)
    if routes.api is not None:
        _add_api(external if routes.api_external else internal_target, routes)
    if routes.health:
        internal_target.router.add_route(
            "*", _prefix(routes.health_path), _health_handler(routes.is_healthy)
        )
        internal_target.router.add_route("GET", live_path(routes.health_path), _live)
    # extras last: a catch-all among them (admin static files) must not shadow /api or /health
    for method, path, handler in routes.extra_external:
        external.router.add_route(method, path, handler)  # type: ignore[arg-type]
    for method, path, handler in routes.extra_internal:
        internal_target.router.add_route(method, path, handler)  # type: ignore[arg-type]
    return external, internal
