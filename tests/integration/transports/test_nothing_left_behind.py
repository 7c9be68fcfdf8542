"""A closed connection leaves nothing behind, on every HTTP/WebSocket client transport.

Each test connects many clients with tokens that expire a day from now, subscribes each one
with a day-long expiry, makes each receive a publication, then closes them by every cause
the transport has (see ``clients.py``).  Afterwards no session, writer, subscription, timer
or transport object of theirs may be alive and every registry (timer wheel, hub maps,
presence, broker channels, tasks, metric series) is back to its size before.  Before the
fix, the connection expiry timer kept every closed session alive until the token expired.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leakcheck import live_objects

from .clients import TRANSPORTS, Client, leftovers_after_churn
from .harness import running


@pytest.mark.parametrize("name", list(TRANSPORTS))
async def test_closed_connections_leave_nothing_behind(tmp_path: Path, name: str) -> None:
    async with running(tmp_path, prometheus=True) as h:
        assert await leftovers_after_churn(h, TRANSPORTS[name]) == {}


async def test_shutdown_leaves_no_session(tmp_path: Path) -> None:
    """Clients still connected at shutdown (3001) are released with the node."""
    alive_before = live_objects()
    async with running(tmp_path) as h:
        clients: list[Client] = []
        for kind in TRANSPORTS.values():
            for i in range(3):
                c = kind(h, f"news:bye-{i}")
                await c.open()
                await c.subscribe()
                clients.append(c)
        server = h.server
        assert len(server.node.hub.conns) == len(clients)
        await server.stop()
        assert len(server.node.timers) == 0
        for c in clients:
            await c.close()
    alive = live_objects()
    for name in ("ClientSession", "Writer", "ChannelSub", "TimerGroup"):
        assert alive[name] <= alive_before[name], (name, alive_before, alive)
