"""gRPC integration tests: the real server in-process plus real grpc.aio servers.

This directory has no ``__init__.py`` on purpose: as a package it would be imported as
``grpc`` and shadow grpcio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from gyre_grpc_support import Gyre, make_config, start_gyre


@pytest.fixture
async def start() -> AsyncIterator[Callable[..., Awaitable[Gyre]]]:
    """``await start(**config_overrides)`` -> a running ``Gyre``; stopped at teardown."""
    started: list[Gyre] = []

    async def _start(**overrides: Any) -> Gyre:
        g = await start_gyre(make_config(**overrides))
        started.append(g)
        return g

    yield _start
    for g in started:
        await g.close()


@pytest.fixture
async def gyre(start: Callable[..., Awaitable[Gyre]]) -> Gyre:
    """A server with the default test config (every gRPC listener on)."""
    return await start()
