"""What closed connections may leave behind: live objects by type and registry sizes.

``Census.take(server)`` records, after a full ``gc.collect()``, how many objects of each
per-connection type are alive and how big every node/engine registry is; ``leftovers``
compares a later census with an earlier one and names what grew.  A connection's
session, writer, subscriptions, timers and transport must all be gone once it closed,
whatever the transport and whatever closed it.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from service.app import Server
from service.core.client import ClientSession
from service.core.subscription import ChannelSub
from service.core.timers import Timer, TimerGroup
from service.core.writer import Writer
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.transports.grpc_stream import GrpcStreamWriter
from service.transports.http_stream import StreamConnection

# every object a client connection creates on the server and nothing else should hold
PER_CONNECTION_TYPES: tuple[type, ...] = (
    ClientSession,
    Writer,
    ChannelSub,
    TimerGroup,
    Timer,
    StreamConnection,
    GrpcStreamWriter,
    web.WebSocketResponse,
    web.BaseRequest,
)


def live_objects(types: tuple[type, ...] = PER_CONNECTION_TYPES) -> Counter[str]:
    """Instances alive per type name (subclasses counted under their own name)."""
    gc.collect()
    out: Counter[str] = Counter()
    for obj in gc.get_objects():
        if isinstance(obj, types):
            if isinstance(obj, Timer) and not obj.pending:
                continue  # a cancelled shell: holds nothing, swept by the wheel (bounded)
            if isinstance(obj, web.BaseRequest):
                # aiohttp keeps the last request of a keep-alive connection (server API
                # calls, /emulation posts) until its next one: only count client connections
                if not obj.path.startswith("/connection/"):
                    continue
            out[type(obj).__name__] += 1
    return out


Sizes = Callable[[], dict[str, int]]


def registry_sizes(server: Server, extra: Sizes | None = None) -> dict[str, int]:
    """Node registries, asyncio tasks, metric series (Prometheus on), the memory engine's
    registries (if that is the engine) and ``extra()`` (e.g. what Redis holds)."""
    node = server.node
    sizes = node.registry_sizes()
    sizes["asyncio.tasks"] = len(asyncio.all_tasks())
    if server.metrics is not None:
        sizes["metrics.series"] = sum(len(f.samples) for f in server.metrics.collect())
    if isinstance(node.presence, MemoryPresenceManager):
        sizes["presence.entries"] = node.presence.num_entries()
    if isinstance(node.broker, MemoryBroker):
        sizes["broker.channels"] = len(node.broker.channels)
    if extra is not None:
        sizes.update(extra())
    return sizes


@dataclass
class Census:
    objects: Counter[str]
    sizes: dict[str, int]

    @classmethod
    def take(cls, server: Server, extra: Sizes | None = None) -> Census:
        return cls(live_objects(), registry_sizes(server, extra))

    def leftovers(self, before: Census) -> dict[str, Any]:
        """What is bigger now than in ``before`` (empty when nothing was left behind)."""
        out: dict[str, Any] = {}
        for name, n in self.objects.items():
            if n > before.objects.get(name, 0):
                out[name] = (before.objects.get(name, 0), n)
        for name, n in self.sizes.items():
            if n > before.sizes.get(name, 0):
                out[name] = (before.sizes.get(name, 0), n)
        return out


async def settle(
    server: Server, before: Census, extra: Sizes | None = None, timeout: float = 8.0
) -> dict[str, Any]:
    """Wait (polling; cleanup runs in background tasks) until nothing is left behind
    compared with ``before``; returns the leftovers of the last look (empty = clean)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # cheap registry check first; the gc census only once the registries look clean
        sizes = registry_sizes(server, extra)
        if all(n <= before.sizes.get(k, 0) for k, n in sizes.items()):
            left = Census.take(server, extra).leftovers(before)
            if not left:
                return left
        else:
            left = {
                k: (before.sizes.get(k, 0), n)
                for k, n in sizes.items()
                if n > before.sizes.get(k, 0)
            }
        if loop.time() > deadline:
            return left
        await asyncio.sleep(0.1)
