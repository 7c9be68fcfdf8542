"""``PubSub``: the PUB/SUB connection of one shard, kept up by one background task.

Contract (docs/redis.md#pubsub-channels, issue "Redis engine and scale-out"):
* On connect it subscribes the fixed channels (``P.control``, ``P.node.<id>``,
  ``P.shard.0``) and every channel it had, in ``SUBSCRIBE`` batches of 512, then waits for a
  ``PING`` reply (Redis answers in order, so every subscription is active); only then
  ``healthy`` is True.  After a *re*connect ``on_reconnect`` is called: messages may have
  been missed while the connection was down.
* It PINGs every ``ping_interval`` seconds; no reply within ``io_timeout`` drops the
  connection.  Reconnects back off exponentially from ``backoff_min`` to ``backoff_max``
  (with jitter), so a dead Redis never causes a busy loop.
* ``subscribe`` returns once Redis confirmed the subscription (later publications are
  delivered) and raises ``EngineError`` when the connection is down or Redis did not confirm
  within ``io_timeout``.  Subscribes and unsubscribes of one loop tick go out as one command.
* Messages are read by the connection's hiredis-based protocol and handed to
  ``on_message(redis_channel, payload)`` synchronously (no Task or Queue per message).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import hiredis

from service.core.engine import EngineError

from .client import _retrieve
from .connection import RespConnection
from .shard import Shard

logger = logging.getLogger(__name__)

BATCH = 512

MessageHandler = Callable[[bytes, bytes], None]


class PubSub:
    """Subscriptions of one shard; ``start`` launches the connection task, ``close`` ends it."""

    def __init__(
        self,
        *,
        shard: Shard,
        fixed_channels: Sequence[bytes],
        on_message: MessageHandler,
        on_reconnect: Callable[[], None],
        io_timeout: float = 4.0,
        ping_interval: float = 1.0,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
    ) -> None:
        self._shard = shard
        self._fixed = list(fixed_channels)
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._io_timeout = io_timeout
        self._ping_interval = ping_interval
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._channels: set[bytes] = set()
        self._waiters: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._pongs: deque[asyncio.Future[None]] = deque()
        self._ops: list[tuple[bytes, list[bytes]]] = []
        self._flush_scheduled = False
        self._conn: RespConnection | None = None
        self._healthy = False
        self._first: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        """True while connected with every subscription confirmed."""
        return self._healthy

    @property
    def channels(self) -> frozenset[bytes]:
        """Redis channels subscribed on request (the fixed ones excluded)."""
        return frozenset(self._channels)

    def start(self) -> None:
        if self._task is None:
            self._first = asyncio.get_running_loop().create_future()
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"redis-pubsub {self._shard.name}"
            )
            self._task.add_done_callback(_retrieve)

    async def wait_first_attempt(self) -> None:
        """Return once the first connection is up and subscribed; raise ``EngineError`` if
        that first attempt failed (the task keeps retrying until ``close``)."""
        if self._first is None:
            raise EngineError("PUB/SUB is not started")
        await asyncio.shield(self._first)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        self._drop_connection()

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, channel: bytes) -> None:
        """Subscribe ``channel``; returns when Redis confirmed it (see module doc)."""
        conn = self._conn
        if conn is None or conn.is_closed:
            raise EngineError(f"redis {self._shard.name}: PUB/SUB connection is down")
        self._channels.add(channel)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, deque()).append(fut)
        self._queue(b"SUBSCRIBE", channel)
        try:
            await asyncio.wait_for(fut, self._io_timeout)
        except TimeoutError:
            self.unsubscribe(channel)  # a late confirmation must not leave it subscribed
            raise EngineError(
                f"redis {self._shard.name}: SUBSCRIBE not confirmed within {self._io_timeout}s"
            ) from None
        except BaseException:
            self.unsubscribe(channel)
            raise

    def unsubscribe(self, channel: bytes) -> None:
        """Forget ``channel`` and send ``UNSUBSCRIBE`` when connected (not awaited)."""
        self._channels.discard(channel)
        if self._conn is not None and not self._conn.is_closed:
            self._queue(b"UNSUBSCRIBE", channel)

    def _queue(self, op: bytes, channel: bytes) -> None:
        ops = self._ops
        if ops and ops[-1][0] == op:
            ops[-1][1].append(channel)
        else:
            ops.append((op, [channel]))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        ops, self._ops = self._ops, []
        conn = self._conn
        if conn is None or conn.is_closed:
            return
        for op, channels in ops:
            for i in range(0, len(channels), BATCH):
                conn.send((op, *channels[i : i + BATCH]))

    # -- replies ---------------------------------------------------------------------------

    def _handle_reply(self, conn: RespConnection, reply: Any) -> None:
        if conn is not self._conn:
            return
        if type(reply) is list and reply:
            kind = reply[0]
            if kind == b"message":
                self._on_message(reply[1], reply[2])
            elif kind == b"subscribe":
                waiters = self._waiters.get(reply[1])
                if waiters:
                    fut = waiters.popleft()
                    if not waiters:
                        del self._waiters[reply[1]]
                    if not fut.done():
                        fut.set_result(None)
            elif kind == b"pong":
                self._pong()
        elif reply == b"PONG":
            self._pong()
        elif isinstance(reply, hiredis.ReplyError):
            logger.warning("redis %s: PUB/SUB error reply: %s", self._shard.name, reply)

    def _pong(self) -> None:
        if self._pongs:
            fut = self._pongs.popleft()
            if not fut.done():
                fut.set_result(None)

    async def _ping(self, conn: RespConnection) -> None:
        """PING and wait for the reply; raise ``EngineError`` after ``io_timeout`` without it.

        Replies come in order, so under a burst the PONG waits behind every message Redis
        has queued for this connection.  While data keeps arriving the connection is alive
        and the wait goes on, one ``io_timeout`` window at a time: an overloaded node must
        not drop PUB/SUB (losing the whole backlog) for being busy.  A window in which
        nothing at all arrives fails the ping.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs.append(fut)
        conn.send(("PING",))
        while True:
            seen = conn.received
            await asyncio.wait(
                {fut, conn.closed}, timeout=self._io_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if fut.done():
                return
            if conn.is_closed or conn.received == seen:
                break
        fut.cancel()
        if conn.is_closed:
            raise EngineError(f"redis {self._shard.name}: PUB/SUB connection lost")
        raise EngineError(f"redis {self._shard.name}: no PONG within {self._io_timeout}s")

    # -- connection loop -------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        was_up = False
        while True:
            conn: RespConnection | None = None
            try:
                conn = await self._shard.open_pubsub()
                # messages go straight to the broker: a connection stops being current only
                # by being closed (_drop_connection), and a closed one delivers nothing more
                conn.set_push_handler(functools.partial(self._handle_reply, conn), self._on_message)
                self._conn = conn
                channels = self._fixed + sorted(self._channels.difference(self._fixed))
                for i in range(0, len(channels), BATCH):
                    conn.send((b"SUBSCRIBE", *channels[i : i + BATCH]))
                await self._ping(conn)
                self._healthy = True
                self._resolve_first(None)
                failures = 0
                if was_up:
                    logger.info("redis %s: PUB/SUB reconnected", self._shard.name)
                    try:
                        self._on_reconnect()
                    except Exception:
                        logger.exception("redis %s: reconnect callback failed", self._shard.name)
                was_up = True
                while not conn.is_closed:
                    await asyncio.wait({conn.closed}, timeout=self._ping_interval)
                    if not conn.is_closed:
                        await self._ping(conn)
                raise EngineError(f"redis {self._shard.name}: PUB/SUB connection lost")
            except EngineError as e:
                level = logging.WARNING if self._healthy or failures == 0 else logging.DEBUG
                logger.log(level, "redis %s: PUB/SUB down: %s", self._shard.name, e)
                self._resolve_first(e)
            except Exception as e:
                logger.exception("redis %s: PUB/SUB failure", self._shard.name)
                self._resolve_first(EngineError(f"redis {self._shard.name}: {e!r}"))
            finally:
                self._drop_connection()
            delay = min(self._backoff_max, self._backoff_min * 2**failures)
            failures = min(failures + 1, 30)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _resolve_first(self, error: EngineError | None) -> None:
        first = self._first
        if first is not None and not first.done():
            if error is None:
                first.set_result(None)
            else:
                first.set_exception(error)
                first.exception()  # retrieved: nobody may be waiting

    def _drop_connection(self) -> None:
        """Mark unhealthy, close the connection, fail pending subscribes and pings."""
        self._healthy = False
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._ops = []
        waiters, self._waiters = self._waiters, {}
        for queue in waiters.values():
            for fut in queue:
                if not fut.done():
                    fut.set_exception(EngineError("redis PUB/SUB connection lost"))
        pongs, self._pongs = self._pongs, deque()
        for fut in pongs:
            fut.cancel()
