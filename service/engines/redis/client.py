"""``NodeClient``: one lazily (re)connected, auto-pipelined command connection.

Every caller shares one connection per Redis server (rueidis-style auto-pipelining): the
commands of one loop tick are written together.  A failed or timed-out connection is
dropped and the next call connects again; concurrent callers share one connect attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from service.core.engine import EngineError

from .connection import Command, ReplyError, RespConnection

Connector = Callable[[], Awaitable[RespConnection]]
T = TypeVar("T")

# Error replies after which the connection must not be reused: we talk to a replica (after
# a failover) or to a server that is still loading its data set.
_RECONNECT_ERRORS = ("READONLY", "LOADING", "MASTERDOWN")


class NodeClient:
    """Commands to one server; ``connect`` opens an authenticated ``RespConnection``.

    ``call`` raises ``EngineError`` (``ReplyError`` for error replies) and never waits more
    than connect_timeout + io_timeout.  After ``close`` every call raises ``EngineError``.
    """

    __slots__ = ("_closed", "_conn", "_connect", "_connecting", "name")

    def __init__(self, connect: Connector, *, name: str) -> None:
        self._connect = connect
        self.name = name
        self._conn: RespConnection | None = None
        self._connecting: asyncio.Task[RespConnection] | None = None
        self._closed = False

    async def connection(self) -> RespConnection:
        """The live connection, connecting first when there is none."""
        conn = self._conn
        if conn is not None and not conn.is_closed:
            return conn
        if self._closed:
            raise EngineError(f"redis {self.name}: client is closed")
        task = self._connecting
        if task is None:
            task = asyncio.get_running_loop().create_task(self._open())
            task.add_done_callback(_retrieve)
            self._connecting = task
        return await await_shared(task, self.name)

    async def _open(self) -> RespConnection:
        try:
            conn = await self._connect()
            if self._closed:
                conn.close()
                raise EngineError(f"redis {self.name}: client is closed")
            self._conn = conn
            return conn
        finally:
            self._connecting = None

    async def call(self, args: Command) -> Any:
        """Send one command and return its reply."""
        conn = self._conn
        if conn is None or conn.is_closed:
            conn = await self.connection()
        try:
            return await conn.execute(args)
        except ReplyError as e:
            if e.message.startswith(_RECONNECT_ERRORS):
                conn.close()
            raise

    async def pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """Send several commands back to back on one connection (e.g. ``ASKING`` + command).

        Returns the replies in order; error replies are returned as ``ReplyError`` objects.
        """
        conn = await self.connection()
        futures = [conn.execute(args) for args in commands]
        out: list[Any] = []
        for fut in futures:
            try:
                out.append(await fut)
            except ReplyError as e:
                out.append(e)
        return out

    async def close(self) -> None:
        """Close the connection and stop reconnecting (idempotent)."""
        self._closed = True
        task = self._connecting
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def await_shared(task: asyncio.Task[T], name: str) -> T:
    """Await a task shared by several callers without letting one caller's cancellation
    cancel it; when the task itself was cancelled (``close``), raise ``EngineError`` rather
    than a ``CancelledError`` the caller would mistake for its own cancellation."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if task.cancelled() and (current is None or not current.cancelling()):
            raise EngineError(f"redis {name}: closed") from None
        raise


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a background task's exception as retrieved (its awaiters may be gone)."""
    if not task.cancelled():
        task.exception()
