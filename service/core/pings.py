"""App-level pings of every connection of a node, in slots (docs/protocol.md#ping-and-pong,
docs/performance.md#idle-connections).

A connected session with pings sits in one of ``n = ceil(ping_interval / STEP)`` slots, chosen
at random, so first pings spread over the interval as v4 spreads them.  One loop callback runs
every ``ping_interval / n`` seconds: it checks the pongs of the slot it pinged ``pong_timeout``
ago (rounded up to whole steps; ``ping_interval > pong_timeout`` is validated, so that is
before the same slot's next ping), then pings the next slot.  Each session is pinged every
``ping_interval`` (plus the loop's lateness: ticks are never closer than a step, so a pong
check never comes before ``pong_timeout``).

Nothing is allocated per ping (no timer, no closure): an idle node's pings create no objects
that the cyclic collector has to promote and walk, which is what a timer per ping did.
Measured with ``bench/limits_bench.py scale``: see docs/performance.md#idle-connections.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from typing import Protocol

log = logging.getLogger("gyre.pings")


class Pinged(Protocol):
    """What the schedule calls on a session (``ClientSession``)."""

    def send_ping(self) -> None:
        """Write one ping (and expect its pong, when pongs are on)."""

    def check_pong(self) -> None:
        """Disconnect with 3012 when the last ping's pong has not come."""


class PingSchedule:
    """Pings every added session each ``interval`` seconds; checks pongs ``pong_timeout``
    (> 0) after each ping.

    ``add`` and ``discard`` are O(1); ``discard`` is idempotent and must be called when a
    session closes (``ClientSession.disconnect``), so the schedule holds no closed session.
    """

    STEP = 0.25  # longest time between two ticks

    __slots__ = ("_check_lag", "_handle", "_i", "_next", "_slots", "_step", "_where")

    def __init__(self, interval: float, pong_timeout: float) -> None:
        n = max(1, math.ceil(interval / self.STEP))
        self._step = interval / n if interval > 0 else self.STEP
        self._slots: list[dict[Pinged, None]] = [{} for _ in range(n)]
        self._where: dict[Pinged, int] = {}  # session -> its slot
        # steps from a slot's ping to its pong check (0: no pongs expected)
        self._check_lag = math.ceil(pong_timeout / self._step - 1e-9) if pong_timeout > 0 else 0
        self._i = 0  # the slot pinged last
        self._next = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """Sessions being pinged."""
        return len(self._where)

    def add(self, session: Pinged) -> None:
        """Ping ``session`` from now on, first within one interval."""
        if session in self._where:
            return
        i = random.randrange(len(self._slots))
        self._where[session] = i
        self._slots[i][session] = None

    def discard(self, session: Pinged) -> None:
        """Stop pinging ``session`` (no-op when it is not here)."""
        i = self._where.pop(session, None)
        if i is not None:
            del self._slots[i][session]

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._next = loop.time() + self._step
        self._handle = loop.call_at(self._next, self._tick)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        slots = self._slots
        n = len(slots)
        self._i = i = (self._i + 1) % n
        if self._check_lag:
            # a copy: a callback may disconnect its session, which discards it from the slot
            for session in list(slots[(i - self._check_lag) % n]):
                try:
                    session.check_pong()
                except Exception:
                    log.exception("pong check failed")
        for session in list(slots[i]):
            try:
                session.send_ping()
            except Exception:
                log.exception("ping failed")
        # at least one step after this tick, also when this one ran late: a slot's pong check
        # never comes sooner than ``pong_timeout`` after its ping (late ticks drift instead)
        loop = asyncio.get_running_loop()
        self._next = max(self._next + self._step, loop.time() + self._step)
        self._handle = loop.call_at(self._next, self._tick)
