"""``Subscriptions``: the NATS broker's channel subscriptions and their batching.

* ``target(channel)`` gives the channel's subject and ``Push`` header, checked once against
  what NATS can carry (``codec.subject_error``) and cached;
* ``subscribe`` registers a direct subscription on the ``DirectClient`` and returns once
  NATS confirmed it: the subscribes of one loop tick share one write of their ``SUB`` lines
  and one PING/PONG (a Task per batch, never per channel or per message);
* ``unsubscribe`` queues ``UNSUB``; those of one tick go out in one write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from service.core.engine import EngineError

from .codec import Subjects, push_header, subject_error
from .connection import DirectClient, MessageCallback

logger = logging.getLogger(__name__)

_TARGETS_MAX = 100_000


class Subscriptions:
    """Channel subscriptions of one broker; ``spawn`` runs (and owns) background tasks."""

    def __init__(
        self,
        subjects: Subjects,
        *,
        io_timeout: float,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self._subjects = subjects
        self._io_timeout = io_timeout
        self._spawn = spawn
        self._sids: dict[str, int] = {}  # channel -> sid
        self._targets: dict[str, tuple[str, bytes]] = {}  # channel -> (subject, Push header)
        self._batch: asyncio.Future[None] | None = None  # SUBs of this tick, awaiting PONG
        self._waiting: set[asyncio.Future[None]] = set()
        self._unsub_client: DirectClient | None = None  # set while UNSUBs are queued

    def target(self, channel: str) -> tuple[str, bytes] | None:
        """(subject, Push header) of ``channel``; None if NATS cannot carry it."""
        target = self._targets.get(channel)
        if target is None:
            reason = subject_error(channel)
            if reason:
                logger.info("nats broker: %s", reason)
                return None
            if len(self._targets) >= _TARGETS_MAX:
                self._targets.clear()
            target = self._targets[channel] = (self._subjects.client(channel), push_header(channel))
        return target

    async def subscribe(
        self, nc: DirectClient, channel: str, subject: str, cb: MessageCallback
    ) -> None:
        """Subscribe ``subject`` for ``channel`` (once) and wait for NATS to confirm it;
        ``EngineError`` (the subscription undone) when it does not within ``io_timeout``."""
        sid = self._sids.get(channel)
        if sid is None:
            sid = self._sids[channel] = nc.add(subject, cb)
        try:
            await self._confirm(nc)
        except BaseException:
            if self._sids.get(channel) == sid:
                del self._sids[channel]
                nc.remove(sid)
            raise

    async def _confirm(self, nc: DirectClient) -> None:
        fut = self._batch
        if fut is None:
            fut = self._batch = asyncio.get_running_loop().create_future()
            self._waiting.add(fut)
            self._spawn(self._send_batch(nc, fut))
        try:
            async with asyncio.timeout(self._io_timeout):
                await asyncio.shield(fut)
        except TimeoutError:
            raise EngineError(f"nats: SUB not confirmed within {self._io_timeout}s") from None

    async def _send_batch(self, nc: DirectClient, fut: asyncio.Future[None]) -> None:
        """Runs after the subscribes of the current tick: one write, one PING/PONG."""
        self._batch = None
        try:
            nc.write_subs()
            pong = await nc.ping()
            await asyncio.wait(
                {pong, fut}, timeout=self._io_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if pong.done() and not fut.done():
                fut.set_result(None)
        except Exception as e:
            if not fut.done():
                fut.set_exception(EngineError(f"nats: subscribe failed: {e!r}"))
                fut.exception()
        finally:
            self._waiting.discard(fut)

    def fail_waiting(self, reason: str) -> None:
        """Fail every subscribe still waiting for its PONG (the connection is gone)."""
        self._batch = None
        waiting, self._waiting = self._waiting, set()
        for fut in waiting:
            if not fut.done():
                fut.set_exception(EngineError(reason))
                fut.exception()

    def unsubscribe(self, nc: DirectClient, channel: str) -> None:
        """Forget ``channel``'s subscription; its ``UNSUB`` goes out at the end of the tick."""
        sid = self._sids.pop(channel, None)
        if sid is None:
            return
        nc.remove(sid)
        if self._unsub_client is None:
            self._unsub_client = nc
            asyncio.get_running_loop().call_soon(self._write_unsubs)

    def _write_unsubs(self) -> None:
        nc, self._unsub_client = self._unsub_client, None
        if nc is not None:
            nc.write_subs()
