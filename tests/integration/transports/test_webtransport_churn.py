"""A closed WebTransport session leaves nothing behind, as ``test_nothing_left_behind`` checks
for the HTTP/WebSocket transports.

Before the fix, the timer that closes a session opening no command stream within 10 s kept
every session (and its client) alive for those 10 s after the session had ended, so a burst of
short WebTransport sessions held that many sessions in memory.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from . import clients
from .clients import Client, far_token, leftovers_after_churn
from .harness import Harness, running
from .test_webtransport import WT, wt_config
from .wt_client import wt_connect


class WtClient(Client):
    """A JSON WebTransport session (one command stream) from the test client."""

    async def open(self) -> None:
        self.stack = contextlib.AsyncExitStack()
        self.s = await self.stack.enter_async_context(wt_connect(self.h.port, WT))
        assert self.s.status == 200
        self.s.open_stream()
        await self.command(connect={"token": far_token(self.user)})

    async def recv(self) -> Any:
        line = await self.s.read_line()
        if not line:
            return {"push": {"disconnect": {"ended": True}}}
        return json.loads(line)

    async def send(self, cmd: dict[str, Any]) -> None:
        self.s.send(json.dumps(cmd).encode() + b"\n")

    async def send_raw(self, data: bytes) -> None:
        self.s.send(data + b"\n")

    async def close(self) -> None:
        await self.stack.aclose()


async def test_closed_sessions_leave_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fresh_tls_connections(h: Harness) -> None:
        # the server serves HTTPS with a self-signed certificate here
        await h.http.close()
        h.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))

    monkeypatch.setattr(clients, "fresh_api_connections", fresh_tls_connections)
    async with running(tmp_path, prometheus=True, **wt_config(tmp_path)) as h:
        assert await leftovers_after_churn(h, WtClient) == {}
