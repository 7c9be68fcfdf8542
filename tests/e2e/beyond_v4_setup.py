"""Servers and namespaces of the beyond-v4 end-to-end tests (docs/beyond_v4.md): one memory
node, and two nodes sharing one real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.redis_fixtures import RedisFactory

from .redis_cluster_helpers import start_servers
from .server import ServerProcess, base_config

HISTORY = {"history_size": 50, "history_ttl": "300s"}
OPEN = {"allow_subscribe_for_client": True, "allow_history_for_client": True}
NAMESPACES: list[dict[str, Any]] = [
    {
        "name": "doc",
        "allowed_delta_types": ["fossil"],
        "delta_publish": True,
        "force_recovery": True,
        **OPEN,
        **HISTORY,
    },
    {"name": "quotes", "allow_tags_filter": True, "force_recovery": True, **OPEN, **HISTORY},
    {
        "name": "now",
        "force_recovery": True,
        "force_recovery_mode": "cache",
        **OPEN,
        "history_size": 10,
        "history_ttl": "1h",
    },
    {"name": "plain", "force_recovery": True, **OPEN, **HISTORY},
    {"name": "nohist", **OPEN},
]


def config(**extra: Any) -> dict[str, Any]:
    return base_config(namespaces=NAMESPACES, **extra)


@pytest.fixture(scope="module")
def memory_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        config(grpc_api=True, grpc_api_port=0, http_stream=True, sse=True, sockjs=True),
        tmp_path_factory.mktemp("bv4"),
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def redis_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Two server processes on one redis-server."""
    factory = RedisFactory()
    servers: list[ServerProcess] = []
    try:
        redis = factory.server()
        root: Path = tmp_path_factory.mktemp("bv4_redis")
        servers = start_servers(
            [
                (name, config(name=name, engine="redis", redis_address=[redis.address]))
                for name in ("bv4-a", "bv4-b")
            ],
            root,
        )
        yield servers
    finally:
        for s in servers:
            s.stop()
        factory.close()
