"""Stand-in for ``python -m service`` while ``service/app.py`` does not mount the HTTP client
transports yet: runs the real CLI, adding ``client_routes(...)`` to the external app exactly as
the composition root will (and nothing when the routes are already there).

    python tests/e2e/js/serve_with_client_routes.py -c config.json

``tests/e2e/test_js_sdk.py`` uses it only when the real process answers 404 on
``/connection/http_stream`` although ``http_stream`` is enabled.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parents[3]),
    str(Path(__file__).resolve().parents[3] / "generated"),
]

import service.app as app  # noqa: E402
from service import cli  # noqa: E402
from service.transports.http_routes import ClientTransportOptions, client_routes  # noqa: E402
from service.transports.limits import ConnectionLimiter  # noqa: E402
from service.transports.origin import OriginChecker  # noqa: E402

_state: dict[str, Any] = {}
_orig_node_config = app.node_config
_orig_build_apps = app.build_apps
_OrigNode = app.Node


def _node_config(cfg: Any) -> Any:
    _state["cfg"] = cfg
    return _orig_node_config(cfg)


class _Node(_OrigNode):  # type: ignore[misc,valid-type]
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        _state["node"] = self


def _options(cfg: Any) -> ClientTransportOptions:
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
        uni_sse=cfg.uni_sse,
        uni_sse_handler_prefix=cfg.uni_sse_handler_prefix,
        uni_sse_max_request_body_size=cfg.uni_sse_max_request_body_size,
        uni_http_stream=cfg.uni_http_stream,
        uni_http_stream_handler_prefix=cfg.uni_http_stream_handler_prefix,
        uni_http_stream_max_request_body_size=cfg.uni_http_stream_max_request_body_size,
    )


def _build_apps(routes: Any, *, separate_internal: bool) -> Any:
    cfg, node = _state["cfg"], _state["node"]
    paths = {p for _, p, _ in routes.extra_external}
    if cfg.http_stream_handler_prefix.rstrip("/") not in paths:
        limiter = ConnectionLimiter(
            limit=cfg.client_connection_limit,
            rate=cfg.client_connection_rate_limit,
            count=lambda: len(node.hub.conns),
        )
        routes.extra_external.extend(
            client_routes(node, _options(cfg), limiter, OriginChecker(cfg.allowed_origins))
        )
    return _orig_build_apps(routes, separate_internal=separate_internal)


app.node_config = _node_config  # type: ignore[assignment]
app.Node = _Node  # type: ignore[misc]
app.build_apps = _build_apps

if __name__ == "__main__":
    raise SystemExit(cli.main(sys.argv[1:]))
