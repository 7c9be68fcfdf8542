"""Fixtures: one real server process per test module (per config), SDK clients, ``cent``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import centrifuge
import pytest

from .helpers import Api, ClientEvents, token
from .proxy_support import _fresh_backends, backends  # noqa: F401 (proxy test fixtures)
from .server import ServerProcess


def server_fixture(config: dict[str, Any], label: str, name: str = "server") -> Any:
    """A module-scoped fixture ``name`` running the server with ``config`` (``base_config``)."""

    @pytest.fixture(scope="module", name=name)
    def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        workdir = tmp_path_factory.mktemp(re.sub(r"\W", "_", label))
        srv = ServerProcess(config, workdir, name=label)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()

    return _server


@pytest.fixture(params=[False, True], ids=["json", "protobuf"])
def proto(request: pytest.FixtureRequest) -> bool:
    """SDK encoding: JSON or Protobuf."""
    return bool(request.param)


@pytest.fixture
async def clients(proto: bool) -> AsyncIterator[Callable[..., Any]]:
    """Factory of connected-on-demand SDK clients; every client is disconnected at the end.

    ``make(server, user=..., token=..., **client_kwargs) -> (client, events)``
    """
    made: list[centrifuge.Client] = []

    def make(server: ServerProcess, user: str | None = None, **kwargs: Any) -> Any:
        events = kwargs.pop("events", None) or ClientEvents()
        if "token" not in kwargs and "get_token" not in kwargs and user is not None:
            kwargs["token"] = token(user)
        kwargs.setdefault("use_protobuf", proto)
        kwargs.setdefault("max_reconnect_delay", 0.5)
        kwargs.setdefault("proxy", None)
        client = centrifuge.Client(server.ws_url, events=events, **kwargs)
        made.append(client)
        return client, events

    yield make
    for c in made:
        with contextlib.suppress(Exception):
            await c.disconnect()


@pytest.fixture
def api_factory() -> Callable[[ServerProcess], Api]:
    return lambda server: Api(server.api_url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the log of every server the test used to its failure report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    for value in funcargs.values():
        if isinstance(value, ServerProcess):
            tail = value.log()[-20000:]
            state = "running" if value.alive() else f"exited ({value.proc and value.proc.poll()})"
            report.sections.append((f"server {value.name} log [{state}]", tail))
