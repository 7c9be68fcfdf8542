"""Shared pieces of the proxy end-to-end tests: the backends, the server configs, helpers.

The backends (an aiohttp application and a grpc.aio ``CentrifugoProxy`` server on
127.0.0.1:0) run in their own thread for the whole module (``backends``), so module-scoped
server processes can point at them; every test starts with no answers and no recorded calls.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy_backends import BackendThread

from .server import ServerProcess, base_config

KINDS = ("connect", "refresh", "subscribe", "publish", "rpc", "sub_refresh")

#: Namespaces of the simple-mode server: ``srv`` for the connect proxy's channels (presence,
#: history), ``px`` with the subscribe and publish proxies, ``sr`` with the sub_refresh proxy.
NAMESPACES = [
    {"name": "srv", "presence": True, "history_size": 10, "history_ttl": "60s"},
    {
        "name": "px",
        "proxy_subscribe": True,
        "proxy_publish": True,
        "presence": True,
        "join_leave": True,
        "history_size": 10,
        "history_ttl": "60s",
    },
    {"name": "sr", "proxy_sub_refresh": True},
]


def simple_config(b: BackendThread, **extra: Any) -> dict[str, Any]:
    """Every proxy type on the HTTP backend (``/<type>``); ``extra`` overrides."""
    http = b.http
    options: dict[str, Any] = {
        "http_stream": True,
        "sse": True,
        **{f"proxy_{kind}_endpoint": http.url(kind) for kind in KINDS},
        "proxy_connect_timeout": "500ms",
        "proxy_http_headers": ["Cookie", "Authorization"],
        "proxy_include_connection_meta": True,
        "namespaces": NAMESPACES,
    }
    options.update(extra)
    return base_config(**options)


def granular_config(b: BackendThread, **extra: Any) -> dict[str, Any]:
    """Connect through the gRPC backend; RPC namespace ``ns-a`` to the HTTP backend, ``ns-b`` to the
    gRPC one; methods without a namespace to the HTTP backend's ``/rpc``."""
    return base_config(
        granular_proxy_mode=True,
        proxies=[
            {
                "name": "grpc",
                "endpoint": b.grpc.endpoint,
                "timeout": "1s",
                "http_headers": ["Cookie"],
                "grpc_credentials_key": "x-centrifugo-key",
                "grpc_credentials_value": "k1",
            },
            {"name": "http-a", "endpoint": b.http.url("rpc_a")},
            {"name": "http-top", "endpoint": b.http.url("rpc")},
        ],
        connect_proxy_name="grpc",
        rpc_proxy_name="http-top",
        rpc_namespaces=[
            {"name": "ns-a", "rpc_proxy_name": "http-a"},
            {"name": "ns-b", "rpc_proxy_name": "grpc"},
        ],
        namespaces=[{"name": "srv", "presence": True}],
        **extra,
    )


@pytest.fixture(scope="module")
def backends() -> Iterator[BackendThread]:
    b = BackendThread()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(autouse=True)
def _fresh_backends(request: pytest.FixtureRequest) -> None:
    if "backends" in request.fixturenames:
        request.getfixturevalue("backends").reset()


def start_server(config: dict[str, Any], workdir: Path, name: str) -> ServerProcess:
    srv = ServerProcess(config, workdir, name=name)
    srv.start()
    return srv


async def wait_log(srv: ServerProcess, pattern: str, after: int = 0, timeout: float = 5.0) -> str:
    """The first log line past offset ``after`` matching ``pattern``."""
    rx = re.compile(pattern)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for line in srv.log()[after:].splitlines():
            if rx.search(line):
                return line
        if loop.time() > deadline:
            raise AssertionError(f"no log line /{pattern}/ in {timeout}s:\n{srv.log()[-4000:]}")
        await asyncio.sleep(0.02)
