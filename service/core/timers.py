"""One timer wheel per node: pings, pong checks, stale and expiry checks for every connection.

No asyncio handle per connection: callbacks sit in buckets of ``resolution`` seconds and one
task walks the due buckets.  Callbacks are plain functions; they must be cheap and must not
raise (exceptions are logged and swallowed).

``TimerWheel.schedule`` returns a ``Timer`` whose ``cancel`` takes it out of its bucket at
once (O(1)), so a cancelled callback - and whatever it refers to - is not kept until its
time.  A connection never schedules on the wheel directly: its ``TimerGroup`` owns every
timer it has and cancels them all in the one close path (see docs/lifecycle.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

log = logging.getLogger("gyre.timers")


class Timer:
    """One scheduled callback.  ``cancel`` is idempotent and also safe after it ran."""

    __slots__ = ("_key", "_wheel", "fn")

    def __init__(self, wheel: TimerWheel, key: int, fn: Callable[[], None]) -> None:
        self._wheel = wheel
        self._key = key
        self.fn: Callable[[], None] | None = fn  # None once cancelled or run

    @property
    def pending(self) -> bool:
        """True until the callback ran or the timer was cancelled."""
        return self.fn is not None

    def cancel(self) -> None:
        """Drop the callback now: it will not run and the wheel no longer refers to it."""
        if self.fn is None:
            return
        self.fn = None
        buckets = self._wheel._buckets
        bucket = buckets.get(self._key)  # None while (or after) its bucket is being run
        if bucket is not None:
            bucket.pop(self, None)
            if not bucket:
                del buckets[self._key]


class TimerWheel:
    """Run callbacks at (approximately, within ``resolution``) a given loop time."""

    def __init__(self, resolution: float = 0.25) -> None:
        self.resolution = resolution
        # bucket key -> timers due in it; a dict is an ordered set with O(1) removal
        self._buckets: dict[int, dict[Timer, None]] = {}
        self._last = -1
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Timers waiting to run (O(number of buckets): for introspection, not hot paths)."""
        return sum(len(b) for b in self._buckets.values())

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        """Call ``fn`` after ``delay`` seconds (loop time); ``Timer.cancel`` undoes it."""
        when = asyncio.get_running_loop().time() + max(delay, 0.0)
        key = int(when / self.resolution) + 1
        if key <= self._last:
            key = self._last + 1
        timer = Timer(self, key, fn)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = {timer: None}
        else:
            bucket[timer] = None
        return timer

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

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = int(loop.time() / self.resolution)
        while True:
            await asyncio.sleep(self.resolution)
            now_key = int(loop.time() / self.resolution)
            buckets = self._buckets
            for key in range(self._last + 1, now_key + 1):
                timers = buckets.pop(key, None)
                if not timers:
                    continue
                for timer in timers:
                    fn = timer.fn
                    if fn is None:  # cancelled by an earlier callback of this bucket
                        continue
                    timer.fn = None
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
