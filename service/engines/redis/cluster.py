"""``ClusterShard``: one Redis Cluster as one shard (docs/redis.md#sharding,
``redis_cluster_address``).

Keys carry the ``{ch}`` hash tag, so every key of a channel lives in one slot and the
Lua scripts stay single-slot.  The slot map comes from ``CLUSTER SLOTS`` (asked from a known
node or a seed); commands go to the slot's master over one auto-pipelined ``NodeClient`` per
node.  ``MOVED`` updates the slot and triggers a background map refresh, ``ASK`` is answered
with ``ASKING`` + the command on the target node, ``TRYAGAIN``/``CLUSTERDOWN`` are retried
with a short backoff — all bounded by io_timeout.  PUB/SUB uses plain cluster-wide
``PUBLISH``/``SUBSCRIBE`` on one connection to any node.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import replace
from typing import Any

from service.core.engine import EngineError

from .client import NodeClient, _retrieve, await_shared
from .connection import Command, ReplyError, RespConnection, open_connection
from .hashing import SLOTS, key_slot
from .options import Address, ConnectSettings, RedisShardConfig, parse_address
from .shard import Shard

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5


class ClusterShard(Shard):
    """One Redis Cluster; ``config.cluster_addresses`` are seed nodes (``SELECT`` is never sent)."""

    cluster = True

    def __init__(self, config: RedisShardConfig) -> None:
        self._settings: ConnectSettings = replace(config.settings(), db=0)
        self._io_timeout = config.io_timeout
        self._seeds = [parse_address(a) for a in config.cluster_addresses]
        self._name = "cluster:" + ",".join(map(str, self._seeds))
        self._nodes: dict[tuple[str, int], NodeClient] = {}
        self._slots: list[tuple[str, int]] | None = None
        self._refreshing: asyncio.Task[list[tuple[str, int]]] | None = None
        self._rr = itertools.count()
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    # -- topology --------------------------------------------------------------------------

    def _client(self, node: tuple[str, int]) -> NodeClient:
        client = self._nodes.get(node)
        if client is None:
            if self._closed:
                raise EngineError(f"redis {self._name}: closed")
            address = Address(host=node[0], port=node[1])
            settings = self._settings

            async def connect() -> RespConnection:
                return await open_connection(address, settings)

            client = self._nodes[node] = NodeClient(connect, name=str(address))
        return client

    def _candidates(self) -> list[tuple[str, int]]:
        """Known masters first (rotated), then the seeds."""
        known = list(dict.fromkeys(self._slots or ()))
        if known:
            shift = next(self._rr) % len(known)
            known = known[shift:] + known[:shift]
        seeds = [(a.host, a.port) for a in self._seeds]
        return list(dict.fromkeys(known + seeds))

    async def _slot_map(self) -> list[tuple[str, int]]:
        slots = self._slots
        if slots is not None:
            return slots
        return await self._refresh()

    async def _refresh(self) -> list[tuple[str, int]]:
        """Fetch ``CLUSTER SLOTS`` once for all concurrent callers."""
        task = self._refreshing
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch_slots())
            task.add_done_callback(_retrieve)
            self._refreshing = task
        return await await_shared(task, self._name)

    def _refresh_soon(self) -> None:
        if self._refreshing is None and not self._closed:
            task = asyncio.get_running_loop().create_task(self._fetch_slots())
            task.add_done_callback(_retrieve)
            self._refreshing = task

    async def _fetch_slots(self) -> list[tuple[str, int]]:
        try:
            errors = []
            for node in self._candidates():
                try:
                    reply = await self._client(node).call(("CLUSTER", "SLOTS"))
                except EngineError as e:
                    errors.append(str(e))
                    continue
                slots = _parse_slots(reply, node[0])
                if slots is not None:
                    self._slots = slots
                    return slots
                errors.append(f"{node}: incomplete slot map")
            raise EngineError(f"redis {self._name}: no slot map: " + "; ".join(errors))
        finally:
            self._refreshing = None

    # -- commands --------------------------------------------------------------------------

    async def call(self, key: bytes | None, args: Command) -> Any:
        slots = await self._slot_map()
        slot = key_slot(key) if key is not None else None
        node = slots[slot] if slot is not None else self._candidates()[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._io_timeout
        asking = False
        for attempt in range(_MAX_REDIRECTS + 1):
            client = self._client(node)
            try:
                if not asking:
                    return await client.call(args)
                _, reply = await client.pipeline([("ASKING",), args])
                if isinstance(reply, ReplyError):
                    raise reply
                return reply
            except ReplyError as e:
                kind, _, rest = e.message.partition(" ")
                if attempt == _MAX_REDIRECTS or loop.time() >= deadline:
                    raise
                if kind in ("MOVED", "ASK"):
                    target = rest.split(" ")[-1]
                    host, _, port = target.rpartition(":")
                    node = (host or node[0], int(port))
                    asking = kind == "ASK"
                    if kind == "MOVED":
                        if slot is not None and self._slots is not None:
                            self._slots[slot] = node
                        self._refresh_soon()
                elif kind in ("TRYAGAIN", "CLUSTERDOWN"):
                    await asyncio.sleep(min(0.05 * 2**attempt, max(deadline - loop.time(), 0)))
                    if kind == "CLUSTERDOWN":
                        self._refresh_soon()
                else:
                    raise
            except EngineError:
                self._refresh_soon()  # the node may be gone: re-learn the topology
                raise
        raise EngineError(f"redis {self._name}: too many redirects")  # pragma: no cover

    async def open_pubsub(self) -> RespConnection:
        """Connect to the first reachable known node or seed."""
        errors = []
        for host, port in self._candidates():
            try:
                return await open_connection(Address(host=host, port=port), self._settings)
            except EngineError as e:
                errors.append(str(e))
        self._refresh_soon()
        raise EngineError(f"redis {self._name}: no node reachable: " + "; ".join(errors))

    async def close(self) -> None:
        self._closed = True
        task = self._refreshing
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        for client in list(self._nodes.values()):
            await client.close()


def _parse_slots(reply: Any, default_host: str) -> list[tuple[str, int]] | None:
    """``CLUSTER SLOTS`` → master (host, port) per slot; None when a slot is uncovered."""
    slots: list[tuple[str, int] | None] = [None] * SLOTS
    for entry in reply or ():
        start, end, master = int(entry[0]), int(entry[1]), entry[2]
        host = master[0].decode() if master[0] else ""
        if host in ("", "?"):
            host = default_host
        node = (host, int(master[1]))
        for slot in range(start, end + 1):
            slots[slot] = node
    if any(node is None for node in slots):
        return None
    return slots  # type: ignore[return-value]
