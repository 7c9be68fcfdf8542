"""The node's ping schedule: every session pinged each interval, pongs checked pong_timeout
after each ping, never sooner, and a discarded session is neither pinged nor held."""

from __future__ import annotations

import asyncio
import time
import weakref

from service.core.pings import PingSchedule


class Session:
    def __init__(self, schedule: PingSchedule, *, answers: bool = True) -> None:
        self.schedule = schedule
        self.answers = answers
        self.pings: list[float] = []
        self.checks: list[float] = []
        self.outstanding = False
        self.no_pong_at = 0.0

    def send_ping(self) -> None:
        self.pings.append(time.monotonic())
        self.outstanding = not self.answers

    def check_pong(self) -> None:
        self.checks.append(time.monotonic())
        if self.outstanding:
            self.no_pong_at = time.monotonic()
            self.schedule.discard(self)  # what a disconnect does


async def test_every_session_is_pinged_each_interval() -> None:
    s = PingSchedule(0.5, 0.2)
    s.start()
    try:
        sessions = [Session(s) for _ in range(20)]
        t0 = time.monotonic()
        for x in sessions:
            s.add(x)
        await asyncio.sleep(1.6)
    finally:
        s.close()
    for x in sessions:
        assert 3 <= len(x.pings) <= 4
        gaps = [b - a for a, b in zip(x.pings, x.pings[1:], strict=False)]
        assert all(0.45 <= g <= 0.7 for g in gaps), gaps
        assert x.pings[0] - t0 <= 0.6  # the first one within an interval (random slot)
    assert len({round(x.pings[0], 2) for x in sessions}) > 1  # spread, not all at once


async def test_missing_pong_is_found_pong_timeout_after_the_ping() -> None:
    s = PingSchedule(0.5, 0.3)
    s.start()
    try:
        silent, fine = Session(s, answers=False), Session(s)
        s.add(silent)
        s.add(fine)
        await asyncio.sleep(1.3)
    finally:
        s.close()
    assert len(silent.pings) == 1 and silent.no_pong_at > 0
    # pong_timeout rounded up to whole steps (of at most 0.25 s)
    assert 0.29 <= silent.no_pong_at - silent.pings[0] <= 0.3 + PingSchedule.STEP + 0.05
    assert len(s) == 1 and fine.no_pong_at == 0 and len(fine.pings) >= 2


async def test_a_stalled_loop_does_not_shorten_the_pong_deadline() -> None:
    s = PingSchedule(0.5, 0.3)
    s.start()
    try:
        sessions = [Session(s) for _ in range(10)]
        for x in sessions:
            s.add(x)
        await asyncio.sleep(0.3)
        time.sleep(0.6)  # the loop is blocked past several ticks
        await asyncio.sleep(1.0)
    finally:
        s.close()
    for x in sessions:
        for ping in x.pings:
            later = [c for c in x.checks if c > ping]
            if later:
                assert later[0] - ping >= 0.29


async def test_discarded_session_is_not_pinged_nor_kept() -> None:
    s = PingSchedule(0.25, 0.1)
    s.start()
    try:
        x = Session(s)
        s.add(x)
        s.add(x)  # once only
        assert len(s) == 1
        s.discard(x)
        s.discard(x)
        assert len(s) == 0
        ref = weakref.ref(x)
        del x
        assert ref() is None
        await asyncio.sleep(0.6)
    finally:
        s.close()
