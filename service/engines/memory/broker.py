"""MemoryBroker: the single-node, in-process ``Broker`` (Centrifugo's default memory engine).

PUB/SUB is a direct, synchronous call of the node's ``BrokerEventHandler``: every publication,
join, leave and control message reaches the handler before the publishing coroutine resumes.
History lives in a ``StreamStore`` (see ``streams``: Redis-compatible stream + meta semantics).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence

from service.core.engine import (
    BrokerEventHandler,
    ClientInfo,
    EngineError,
    HistoryQuery,
    HistoryResult,
    Publication,
    PublishOptions,
    PublishOutcome,
    PublishRun,
)

from ..idempotency import IdempotentResults
from .streams import StreamStore

logger = logging.getLogger(__name__)

_SWEEP_BATCH = 1000


def random_epoch() -> str:
    """Default epoch: 8 random hex characters (a new value for every recreated stream meta)."""
    return secrets.token_hex(4)


class MemoryBroker:
    """In-memory ``Broker`` for one node.

    * ``clock``: monotonic seconds used for every history expiry (inject a fake in tests).
    * ``epoch_factory``: returns a new epoch whenever stream meta is (re)created; defaults to
      ``random_epoch``.  It must not repeat values, or a recreated stream could be mistaken
      for the old one by a recovering client.
    * ``sweep_interval``: seconds between background passes that drop expired streams and
      meta to reclaim memory (reads already apply expiry lazily); ``<= 0`` disables the task.
      The task is created by ``start`` and cancelled and awaited by ``close``.

    Delivery is synchronous and ignores subscriptions: the node filters by its own hub, and
    ``subscribe``/``unsubscribe`` only maintain ``channels`` for introspection.  Objects
    handed to the handler or returned by ``history`` must be treated as read-only by the
    receiver where noted.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        epoch_factory: Callable[[], str] | None = None,
        sweep_interval: float = 10.0,
    ) -> None:
        self._clock = clock
        self._store = StreamStore(epoch_factory=epoch_factory or random_epoch)
        self._sweep_interval = sweep_interval
        self._handler: BrokerEventHandler | None = None
        self._node_id = ""
        self._channels: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._results = IdempotentResults(clock)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, handler: BrokerEventHandler, node_id: str) -> None:
        """Deliver events to ``handler`` from now on; control messages for ``node_id`` too.

        Calling it again replaces the handler; the sweep task is started once.
        """
        self._handler = handler
        self._node_id = node_id
        if self._sweeper is None and self._sweep_interval > 0:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_loop(), name="memory-broker-sweep"
            )

    async def close(self) -> None:
        """Stop delivering (later publishes raise ``EngineError``); cancel and await the sweep.

        Stored history is kept; ``start`` may be called again.
        """
        self._handler = None
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            # asyncio.wait does not raise the task's CancelledError, but a cancellation of
            # close() itself still propagates.
            await asyncio.wait({task})

    def healthy(self) -> bool:
        """Always True: nothing external can fail."""
        return True

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Record ``channel`` as locally subscribed (delivery does not depend on it)."""
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        """Forget ``channel``; unknown channels are ignored."""
        self._channels.discard(channel)

    @property
    def channels(self) -> frozenset[str]:
        """Channels currently subscribed through this broker (a snapshot)."""
        return frozenset(self._channels)

    # -- publishing ----------------------------------------------------------------------

    async def publish(
        self, channel: str, pubs: Sequence[Publication], opts: PublishOptions
    ) -> list[PublishOutcome]:
        """Store (when ``opts.with_history``) every one of ``pubs`` in order, then deliver them
        all with ONE ``handler.handle_publications`` call (nothing runs in between, so a run
        is delivered exactly as consecutive single publishes would be).

        With history: a copy of each publication carrying offset = previous top + 1 is
        appended to the channel stream (trimmed to ``history_size``, publications expire
        ``history_ttl`` after this publish, meta expiry moved by ``history_meta_ttl`` when
        non-zero; missing meta → new epoch, offsets restart at 1); the copies are delivered
        and their positions returned.  The copies are the stored objects: the handler must not
        mutate them.  Without history: ``pubs`` themselves are delivered with no positions and
        every entry is None.  ``pubs`` are never modified.

        Never an exception entry: storing cannot fail, and a handler exception is logged and
        not raised (the publications are stored, as with the Redis engine where delivery is
        decoupled from publishing).  Raises ``EngineError`` before ``start`` or after ``close``.

        ``opts.idempotency_key`` (one publication): a result remembered for it is returned at
        once (nothing is stored or delivered); otherwise this result is remembered (nothing
        awaits in between, so two concurrent calls publish once).
        """
        return self._publish(channel, pubs, opts, self._require_handler())

    async def publish_many(
        self, runs: Sequence[PublishRun]
    ) -> list[list[PublishOutcome] | Exception]:
        """``publish`` of each run in turn, nothing awaited in between (one coroutine for a
        whole broadcast, not one per channel)."""
        handler = self._require_handler()
        out: list[list[PublishOutcome] | Exception] = []
        for channel, pubs, opts in runs:
            try:
                out.append(self._publish(channel, pubs, opts, handler))
            except Exception as e:
                out.append(e)
        return out

    def _publish(
        self,
        channel: str,
        pubs: Sequence[Publication],
        opts: PublishOptions,
        handler: BrokerEventHandler,
    ) -> list[PublishOutcome]:
        key = opts.idempotency_key
        if key:
            hit, result = self._results.lookup(channel, key)
            if hit:
                return [result]
        out: list[PublishOutcome]
        if not opts.with_history:
            stored: Sequence[Publication] = pubs
            positions = None
            out = [None] * len(pubs)
        else:
            append, now = self._store.append, self._clock()
            copies: list[Publication] = []
            positions = []
            for pub in pubs:
                copy, position = append(channel, pub, opts, now)
                copies.append(copy)
                positions.append(position)
            stored = copies
            out = list(positions)
        if key:
            self._results.remember(
                channel, key, positions[0] if positions else None, opts.idempotent_result_ttl
            )
        try:
            handler.handle_publications(channel, stored, positions)
        except Exception:
            logger.exception("handle_publications failed for channel %r", channel)
        return out

    async def publish_join(self, channel: str, info: ClientInfo) -> None:
        """Call ``handler.handle_join(channel, info)`` synchronously (errors are logged)."""
        handler = self._require_handler()
        try:
            handler.handle_join(channel, info)
        except Exception:
            logger.exception("handle_join failed for channel %r", channel)

    async def publish_leave(self, channel: str, info: ClientInfo) -> None:
        """Call ``handler.handle_leave(channel, info)`` synchronously (errors are logged)."""
        handler = self._require_handler()
        try:
            handler.handle_leave(channel, info)
        except Exception:
            logger.exception("handle_leave failed for channel %r", channel)

    async def publish_control(self, data: bytes, node_id: str = "") -> None:
        """Call ``handler.handle_control(data)`` when ``node_id`` is "" or this node's ID.

        Messages addressed to another node are dropped: a memory engine has one node.
        """
        handler = self._require_handler()
        if node_id in ("", self._node_id):
            try:
                handler.handle_control(data)
            except Exception:
                logger.exception("handle_control failed")

    # -- history -------------------------------------------------------------------------

    async def history(self, channel: str, query: HistoryQuery) -> HistoryResult:
        """Publications and current top/epoch; see ``StreamStore.read`` for exact semantics.

        Creates meta (a new epoch, top 0) when missing, so an empty channel has a stable
        epoch.  The ``since.epoch`` check is the caller's job: compare it with
        ``result.position.epoch``.  Works without ``start``.
        """
        return self._store.read(channel, query, self._clock())

    async def remove_history(self, channel: str) -> None:
        """Drop the channel's publications, keeping top offset and epoch (API history_remove)."""
        self._store.remove(channel, self._clock())

    def sweep_expired(self) -> int:
        """Apply expiry to every channel now; return how many streams or metas were dropped."""
        now = self._clock()
        return sum(self._store.expire_channel(ch, now) for ch in self._store.channels())

    # -- internals -----------------------------------------------------------------------

    def _require_handler(self) -> BrokerEventHandler:
        handler = self._handler
        if handler is None:
            raise EngineError("memory broker is not started")
        return handler

    async def _sweep_loop(self) -> None:
        """Every ``sweep_interval`` s expire all channels, yielding every ``_SWEEP_BATCH``."""
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                channels = self._store.channels()
                for i in range(0, len(channels), _SWEEP_BATCH):
                    if i:
                        await asyncio.sleep(0)
                    now = self._clock()
                    for channel in channels[i : i + _SWEEP_BATCH]:
                        self._store.expire_channel(channel, now)
            except Exception:
                logger.exception("memory broker sweep failed")
