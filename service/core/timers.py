"""One timer wheel per node: pings, pong checks, stale and expiry checks for every connection.

No timer handle per connection: callbacks sit in buckets of ``resolution`` seconds and one
task walks the due buckets.  Callbacks are plain functions; they must be cheap and must not
raise (exceptions are logged and swallowed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("gyre.timers")


class TimerWheel:
    """Run callbacks at (approximately, within ``resolution``) a given loop time."""

    def __init__(self, resolution: float = 0.25) -> None:
        self.resolution = resolution
        self._buckets: dict[int, list[Callable[[], None]]] = {}
        self._last = -1
        self._task: asyncio.Task[None] | None = None

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` after ``delay`` seconds (loop time)."""
        when = asyncio.get_running_loop().time() + max(delay, 0.0)
        key = int(when / self.resolution) + 1
        if key <= self._last:
            key = self._last + 1
        self._buckets.setdefault(key, []).append(fn)

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
        self._buckets.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = int(loop.time() / self.resolution)
        while True:
            await asyncio.sleep(self.resolution)
            now_key = int(loop.time() / self.resolution)
            buckets = self._buckets
            for key in range(self._last + 1, now_key + 1):
                fns = buckets.pop(key, None)
                if not fns:
                    continue
                for fn in fns:
                    try:
                        fn()
                    except Exception:
                        log.exception("timer callback failed")
            self._last = now_key
