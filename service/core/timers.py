"""One timer wheel per node: pings, pong checks, stale and expiry checks for every connection.

No asyncio handle per connection: callbacks sit in buckets of ``resolution`` seconds and one
task walks the due buckets.  Callbacks are plain functions; they must be cheap and must not
raise (exceptions are logged and swallowed).

``TimerWheel.schedule`` returns a ``Timer`` whose ``cancel`` drops the callback at once
(O(1)), so a cancelled callback - and whatever it refers to - is not kept until its time.
A connection never schedules on the wheel directly: its ``TimerGroup`` owns every timer it
has and cancels them all in the one close path (see docs/lifecycle.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

log = logging.getLogger("gyre.timers")


class Timer:
    """One scheduled callback.  ``cancel`` is idempotent and also safe after it ran."""

    __slots__ = ("_wheel", "fn")

    def __init__(self, wheel: TimerWheel, fn: Callable[[], None]) -> None:
        self._wheel = wheel
        self.fn: Callable[[], None] | None = fn  # None once cancelled or run

    @property
    def pending(self) -> bool:
        """True until the callback ran or the timer was cancelled."""
        return self.fn is not None

    def cancel(self) -> None:
        """Drop the callback now: it will not run, and what it refers to is released."""
        if self.fn is not None:
            self.fn = None
            self._wheel._discarded()


class TimerWheel:
    """Run callbacks at (approximately, within ``resolution``) a given loop time.

    Buckets are plain lists (an append per ``schedule``).  A cancelled timer drops its
    callback at once; its small ``Timer`` shell stays in the bucket until the bucket is due
    or until cancelled shells outnumber live timers (and ``COMPACT_MIN``), when every bucket
    is swept: O(1) amortised per cancel, and the wheel never holds more shells than about
    twice the live timers.
    """

    COMPACT_MIN = 1024

    def __init__(self, resolution: float = 0.25) -> None:
        self.resolution = resolution
        self._buckets: dict[int, list[Timer]] = {}
        self._live = 0  # timers waiting to run
        self._cancelled = 0  # cancelled shells still in a bucket (or in the one being run)
        self._last = -1
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Timers waiting to run."""
        return self._live

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        """Call ``fn`` after ``delay`` seconds (loop time); ``Timer.cancel`` undoes it."""
        when = asyncio.get_running_loop().time() + max(delay, 0.0)
        key = int(when / self.resolution) + 1
        if key <= self._last:
            key = self._last + 1
        timer = Timer(self, fn)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [timer]
        else:
            bucket.append(timer)
        self._live += 1
        return timer

    def _discarded(self) -> None:
        self._live -= 1
        self._cancelled += 1
        if self._cancelled > self.COMPACT_MIN and self._cancelled > self._live:
            self._compact()

    def _compact(self) -> None:
        """Drop cancelled shells and emptied buckets (the bucket being run is not here)."""
        kept: dict[int, list[Timer]] = {}
        removed = 0
        for key, bucket in self._buckets.items():
            live = [t for t in bucket if t.fn is not None]
            removed += len(bucket) - len(live)
            if live:
                kept[key] = live
        self._buckets = kept
        self._cancelled -= removed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        buckets, self._buckets = self._buckets, {}
        for bucket in buckets.values():
            for timer in bucket:
                timer.fn = None
        self._live = self._cancelled = 0

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = int(loop.time() / self.resolution)
        while True:
            await asyncio.sleep(self.resolution)
            now_key = int(loop.time() / self.resolution)
            for key in range(self._last + 1, now_key + 1):
                # looked up each time: a callback may compact (replace) the bucket map
                timers = self._buckets.pop(key, None)
                if not timers:
                    continue
                for timer in timers:
                    fn = timer.fn
                    if fn is None:  # cancelled, possibly by an earlier callback of this bucket
                        self._cancelled -= 1
                        continue
                    timer.fn = None
                    self._live -= 1
                    try:
                        fn()
                    except Exception:
                        log.exception("timer callback failed")
            self._last = now_key


class TimerGroup:
    """The timers of one owner (a client connection), one per key.

    ``set`` replaces the owner's timer under ``key`` (the previous one is cancelled), so
    re-arming a check never piles up callbacks; ``cancel`` drops one; ``clear`` cancels all
    of them and closes the group: a later ``set`` (a late command, a callback re-arming
    itself) schedules nothing, so a closed owner cannot be put back into the wheel.
    """

    __slots__ = ("_timers", "_wheel", "closed")

    def __init__(self, wheel: TimerWheel) -> None:
        self._wheel = wheel
        self._timers: dict[Hashable, Timer] = {}
        self.closed = False

    def __len__(self) -> int:
        """Timers of this group still waiting to run."""
        return sum(1 for t in self._timers.values() if t.fn is not None)

    def set(self, key: Hashable, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` after ``delay`` seconds instead of whatever ``key`` had; no-op once closed."""
        if self.closed:
            return
        timers = self._timers
        old = timers.get(key)
        if old is not None:
            old.cancel()
        timers[key] = self._wheel.schedule(delay, fn)

    def cancel(self, key: Hashable) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def clear(self) -> None:
        """Cancel every timer and refuse new ones (idempotent)."""
        self.closed = True
        timers, self._timers = self._timers, {}
        for timer in timers.values():
            timer.cancel()
