"""Shards: where a channel's commands and PUB/SUB connection go (docs/redis.md#sharding).

``Shard`` is the interface the broker and presence manager use; ``StandaloneShard`` serves a
single Redis found either at a fixed address or through Sentinel (``SentinelResolver``);
``ClusterShard`` (module ``cluster``) serves a Redis Cluster.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from typing import Any

from service.core.engine import EngineError

from .client import NodeClient
from .connection import Command, ReplyError, RespConnection, open_connection
from .options import (
    DEFAULT_SENTINEL_PORT,
    Address,
    ConnectSettings,
    RedisShardConfig,
    parse_address,
)
from .scripts import Script

logger = logging.getLogger(__name__)


class Shard(abc.ABC):
    """Commands (auto-pipelined, io_timeout-bounded) and PUB/SUB connections of one shard.

    ``cluster`` is True when keys need the ``{ch}`` hash tag.  ``key`` arguments route a
    command to the node owning that key's slot in a cluster (ignored otherwise); ``None``
    means any node.  All failures raise ``EngineError``.
    """

    cluster: bool = False

    @abc.abstractmethod
    async def call(self, key: bytes | None, args: Command) -> Any:
        """Run one command."""

    @abc.abstractmethod
    async def open_pubsub(self) -> RespConnection:
        """Open a new authenticated connection for PUB/SUB (the caller owns it)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection; later calls raise ``EngineError``."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """For logs."""

    async def script(self, script: Script, keys: Sequence[bytes], args: Command) -> Any:
        """``EVALSHA``, falling back to ``EVAL`` (which caches the script) on ``NOSCRIPT``."""
        try:
            return await self.call(keys[0], ("EVALSHA", script.sha, len(keys), *keys, *args))
        except ReplyError as e:
            if not e.message.startswith("NOSCRIPT"):
                raise
        return await self.call(keys[0], ("EVAL", script.source, len(keys), *keys, *args))


class SentinelResolver:
    """Asks the sentinels (in turn, last good one first) for the current master address."""

    def __init__(
        self, addresses: Sequence[Address], master_name: str, settings: ConnectSettings
    ) -> None:
        if not addresses:
            raise ValueError("no sentinel addresses")
        self._addresses = list(addresses)
        self._master_name = master_name
        self._settings = settings

    async def master(self) -> Address:
        """Current master; raises ``EngineError`` when no sentinel answers with one."""
        errors = []
        for i, sentinel in enumerate(list(self._addresses)):
            try:
                conn = await open_connection(sentinel, self._settings)
                try:
                    reply = await conn.execute(
                        ("SENTINEL", "get-master-addr-by-name", self._master_name)
                    )
                finally:
                    conn.close()
            except EngineError as e:
                errors.append(str(e))
                continue
            if not reply:
                errors.append(f"sentinel {sentinel}: unknown master {self._master_name!r}")
                continue
            if i:
                self._addresses.remove(sentinel)
                self._addresses.insert(0, sentinel)
            return Address(host=reply[0].decode(), port=int(reply[1]))
        raise EngineError("redis sentinel: no master address: " + "; ".join(errors))


class StandaloneShard(Shard):
    """One Redis server: a fixed address, or the master named by Sentinel.

    With Sentinel every (re)connect asks the sentinels for the master and checks ``ROLE``,
    so after a failover the next connection goes to the promoted replica.
    """

    def __init__(self, config: RedisShardConfig) -> None:
        self._settings = config.settings()
        self._resolver: SentinelResolver | None = None
        if config.sentinel_addresses:
            self._resolver = SentinelResolver(
                [parse_address(a, DEFAULT_SENTINEL_PORT) for a in config.sentinel_addresses],
                config.sentinel_master_name,
                config.sentinel_settings(),
            )
            self._name = f"sentinel:{config.sentinel_master_name}"
            self._address: Address | None = None
        else:
            self._address = parse_address(config.address)
            self._name = str(self._address)
        self._client = NodeClient(self._open, name=self._name)

    @property
    def name(self) -> str:
        return self._name

    async def _open(self) -> RespConnection:
        if self._resolver is None:
            assert self._address is not None
            return await open_connection(self._address, self._settings)
        address = await self._resolver.master()
        conn = await open_connection(address, self._settings)
        try:
            role = await conn.execute(("ROLE",))
        except BaseException:
            conn.close()
            raise
        if not role or role[0] != b"master":
            conn.close()
            raise EngineError(f"redis {address}: not a master yet (role {role[:1]!r})")
        return conn

    async def call(self, key: bytes | None, args: Command) -> Any:
        return await self._client.call(args)

    async def open_pubsub(self) -> RespConnection:
        return await self._open()

    async def close(self) -> None:
        await self._client.close()
