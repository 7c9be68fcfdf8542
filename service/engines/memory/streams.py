"""In-memory history streams: per channel a bounded deque of publications plus stream meta.

Mirrors the Redis layout of docs/redis.md#keys-and-scripts so both engines behave the same:

* the *stream* (Redis ``P.stream.<ch>``) holds at most ``history_size`` publications and
  vanishes ``history_ttl`` seconds after the **last publish** (``EXPIRE`` on every publish);
* the *meta* (Redis ``P.stream.meta.<ch>``) holds the top offset and the epoch; every publish
  and every history read with a non-zero ``history_meta_ttl`` / ``HistoryQuery.meta_ttl`` moves
  its expiry to ``now + ttl``; a zero ttl leaves the expiry as it is (like the Lua scripts, which
  skip ``EXPIRE`` for 0), so meta created with ttl 0 never expires.  When the meta is gone a new
  epoch is generated and offsets restart (the next publication gets offset 1).

Expiry is evaluated lazily against an injected clock (``now`` arguments) on every access;
``expire_channel`` lets the owner sweep idle channels to reclaim memory.  Nothing here is
async and nothing schedules timers: the owner (``MemoryBroker``) drives it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from service.core.engine import (
    HistoryQuery,
    HistoryResult,
    Publication,
    PublishOptions,
    StreamPosition,
)


def _copy(pub: Publication, offset: int) -> Publication:
    """A new Publication with ``offset``; the tags dict is copied, data/info are shared
    (and so is the cached JSON check, ``json_ok``)."""
    return Publication(
        data=pub.data,
        info=pub.info,
        offset=offset,
        tags=dict(pub.tags) if pub.tags is not None else None,
        json_ok=pub.json_ok,
        delta=pub.delta,
    )


class _Stream:
    """One channel: meta (top, epoch, meta expiry) and the retained publications.

    Invariant: ``pubs`` holds publications with the contiguous offsets
    ``top - len(pubs) + 1 … top`` in ascending order (it is only appended to at the right,
    trimmed at the left by ``maxlen`` and cleared as a whole).
    """

    __slots__ = ("epoch", "meta_expires_at", "pubs", "stream_expires_at", "top")

    def __init__(self, epoch: str, meta_expires_at: float | None) -> None:
        self.epoch = epoch
        self.top = 0
        self.pubs: deque[Publication] = deque(maxlen=1)
        self.stream_expires_at = 0.0  # meaningful only while ``pubs`` is non-empty
        self.meta_expires_at = meta_expires_at  # None: never expires


class StreamStore:
    """History streams of all channels of one in-memory broker (see module docstring).

    ``epoch_factory`` is called once per meta creation and must return a new value on every
    call (the epoch has to change whenever meta is recreated).
    """

    __slots__ = ("_new_epoch", "_streams")

    def __init__(self, *, epoch_factory: Callable[[], str]) -> None:
        self._new_epoch = epoch_factory
        self._streams: dict[str, _Stream] = {}

    def __len__(self) -> int:
        """Number of channels with live or not-yet-swept meta."""
        return len(self._streams)

    def channels(self) -> list[str]:
        """Snapshot of the channel names currently held (expired ones included until swept)."""
        return list(self._streams)

    def append(
        self, channel: str, pub: Publication, opts: PublishOptions, now: float
    ) -> tuple[Publication, StreamPosition]:
        """Store a copy of ``pub`` at offset top+1; return the stored copy and the new top.

        Requires ``opts.with_history``.  The caller's ``pub`` is not modified.  O(1): deque
        append with ``maxlen = history_size`` (the deque is rebuilt only when the size changes).
        """
        stream = self._live(channel, now)
        if stream is None:
            stream = self._create(channel, now, opts.history_meta_ttl)
        elif opts.history_meta_ttl > 0:
            stream.meta_expires_at = now + opts.history_meta_ttl
        stream.top += 1
        stored = _copy(pub, stream.top)
        pubs = stream.pubs
        if pubs.maxlen != opts.history_size:
            pubs = stream.pubs = deque(pubs, maxlen=opts.history_size)
        pubs.append(stored)
        stream.stream_expires_at = now + opts.history_ttl
        return stored, StreamPosition(stream.top, stream.epoch)

    def read(self, channel: str, query: HistoryQuery, now: float) -> HistoryResult:
        """History read with the semantics of the Redis history script
        (docs/redis.md#keys-and-scripts, docs/server_api.md#methods).

        Always returns the current top and epoch, creating meta (new epoch, top 0) when it is
        missing, and refreshes the meta expiry with ``query.meta_ttl`` when non-zero.
        Publications (fresh copies, each carrying its offset):

        * ``limit == 0``: none (position only); ``limit < 0``: no limit; ``limit > 0``: the
          first ``limit`` publications in the chosen order, after the ``since`` filter;
        * forward (``reverse`` false): ascending; with ``since`` only offsets > since.offset;
        * reverse: descending (newest first); with ``since`` only offsets < since.offset
          (so ``since.offset <= 1`` yields none).

        ``since.epoch`` is **not** checked: the caller compares it with the returned
        ``position.epoch`` (mismatch → recovery fails / API error 112).  Publications trimmed
        or expired are simply absent; the caller detects the gap from the offsets.
        """
        stream = self._live(channel, now)
        if stream is None:
            stream = self._create(channel, now, query.meta_ttl)
        elif query.meta_ttl > 0:
            stream.meta_expires_at = now + query.meta_ttl
        position = StreamPosition(stream.top, stream.epoch)
        limit = query.limit
        pubs = stream.pubs
        count = len(pubs)
        if limit == 0 or count == 0:
            return HistoryResult([], position)
        since = query.since
        if query.reverse:
            # Index i of reversed(pubs) holds offset top - i; keep offsets < since.offset.
            skip = 0 if since is None else max(0, stream.top - since.offset + 1)
            end = count if limit < 0 else min(count, skip + limit)
            if skip >= end:
                return HistoryResult([], position)
            selected: Iterable[Publication] = islice(reversed(pubs), skip, end)
        else:
            first = stream.top - count + 1
            start = 0 if since is None else max(0, since.offset + 1 - first)
            end = count if limit < 0 else min(count, start + limit)
            if start >= end:
                return HistoryResult([], position)
            selected = _forward_slice(pubs, start, end)
        return HistoryResult([_copy(p, p.offset) for p in selected], position)

    def remove(self, channel: str, now: float) -> None:
        """Drop the stored publications; meta (top, epoch, meta expiry) is kept untouched."""
        stream = self._live(channel, now)
        if stream is not None:
            stream.pubs.clear()

    def expire_channel(self, channel: str, now: float) -> bool:
        """Apply expiry to one channel now; True when its meta or its publications were dropped."""
        stream = self._streams.get(channel)
        if stream is None:
            return False
        had_pubs = bool(stream.pubs)
        live = self._live(channel, now)
        return live is None or (had_pubs and not live.pubs)

    def _live(self, channel: str, now: float) -> _Stream | None:
        """The channel's stream after lazy expiry: None when meta expired (entry removed)."""
        stream = self._streams.get(channel)
        if stream is None:
            return None
        if stream.meta_expires_at is not None and now >= stream.meta_expires_at:
            # Meta gone: the old epoch's publications are meaningless, drop everything.
            del self._streams[channel]
            return None
        if stream.pubs and now >= stream.stream_expires_at:
            stream.pubs.clear()
        return stream

    def _create(self, channel: str, now: float, meta_ttl: float) -> _Stream:
        stream = _Stream(self._new_epoch(), now + meta_ttl if meta_ttl > 0 else None)
        self._streams[channel] = stream
        return stream


def _forward_slice(pubs: deque[Publication], start: int, end: int) -> Iterator[Publication]:
    """``pubs[start:end]`` ascending, walking from whichever end of the deque is nearer.

    Recovery reads usually want the newest few publications, so walking from the right keeps
    them O(number returned) instead of O(stream length).
    """
    count = len(pubs)
    if start <= count - end:
        return islice(pubs, start, end)
    tail = list(islice(reversed(pubs), count - end, count - start))
    tail.reverse()
    return iter(tail)
