"""TimerWheel cancellation and TimerGroup ownership (no sockets)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from service.core.timers import TimerGroup, TimerWheel


@pytest.fixture
async def wheel() -> AsyncIterator[TimerWheel]:
    w = TimerWheel(resolution=0.01)
    w.start()
    yield w
    await w.close()


async def test_callbacks_run_in_time_order(wheel: TimerWheel) -> None:
    ran: list[str] = []
    wheel.schedule(0.05, lambda: ran.append("b"))
    wheel.schedule(0.0, lambda: ran.append("a"))
    assert len(wheel) == 2
    await asyncio.sleep(0.1)
    assert ran == ["a", "b"] and len(wheel) == 0


async def test_cancel_removes_the_callback_and_what_it_refers_to(wheel: TimerWheel) -> None:
    class Owner:
        pass

    owner = Owner()
    ref = weakref.ref(owner)
    ran: list[Owner] = []
    timer = wheel.schedule(3600.0, lambda o=owner: ran.append(o))  # type: ignore[misc]
    keep = wheel.schedule(3600.0, lambda: None)
    assert timer.pending and len(wheel) == 2
    timer.cancel()
    timer.cancel()  # idempotent
    del owner
    gc.collect()
    assert ref() is None  # the wheel let go at once, not at the timer's time
    assert not timer.pending and len(wheel) == 1
    keep.cancel()
    assert len(wheel) == 0


async def test_cancelled_shells_never_outnumber_live_timers_by_much(wheel: TimerWheel) -> None:
    """Day-long timers cancelled early (closed connections) do not pile up in the wheel."""

    def held() -> int:
        return sum(len(b) for b in wheel._buckets.values())

    timers = [wheel.schedule(86400.0 + i, lambda: None) for i in range(5000)]
    for t in timers[10:]:
        t.cancel()
        # cancelled shells: at most as many as live timers, or COMPACT_MIN
        assert held() - len(wheel) <= max(len(wheel), TimerWheel.COMPACT_MIN) + 1
    assert len(wheel) == 10
    for t in timers[:10]:
        t.cancel()
    assert len(wheel) == 0 and held() <= TimerWheel.COMPACT_MIN + 1


async def test_cancel_from_an_earlier_callback_of_the_same_bucket(wheel: TimerWheel) -> None:
    ran: list[str] = []
    second = None

    def first() -> None:
        ran.append("first")
        assert second is not None
        second.cancel()

    wheel.schedule(0.02, first)
    second = wheel.schedule(0.02, lambda: ran.append("second"))
    await asyncio.sleep(0.1)
    assert ran == ["first"]


async def test_cancel_after_it_ran_is_a_no_op(wheel: TimerWheel) -> None:
    ran: list[int] = []
    timer = wheel.schedule(0.0, lambda: ran.append(1))
    await asyncio.sleep(0.05)
    assert ran == [1] and not timer.pending
    later = wheel.schedule(0.0, lambda: ran.append(2))
    timer.cancel()
    await asyncio.sleep(0.05)
    assert ran == [1, 2] and not later.pending


async def test_group_replaces_per_key_and_clear_closes_it(wheel: TimerWheel) -> None:
    ran: list[str] = []
    group = TimerGroup(wheel)
    for i in range(100):  # re-arming one key never piles up callbacks
        group.set("expire", 3600.0, lambda i=i: ran.append(f"expire{i}"))  # type: ignore[misc]
    group.set("ping", 0.02, lambda: ran.append("ping"))
    assert len(group) == 2 and len(wheel) == 2
    await asyncio.sleep(0.1)
    assert ran == ["ping"] and len(wheel) == 1
    group.cancel("expire")
    assert len(wheel) == 0
    group.set("a", 3600.0, lambda: None)
    group.set("b", 3600.0, lambda: None)
    group.clear()
    assert len(wheel) == 0 and group.closed
    group.set("late", 0.0, lambda: ran.append("late"))  # a closed owner schedules nothing
    assert len(wheel) == 0
    await asyncio.sleep(0.05)
    assert ran == ["ping"]


async def test_close_drops_every_callback() -> None:
    w = TimerWheel()
    w.start()
    timer = w.schedule(10.0, lambda: None)
    await w.close()
    assert len(w) == 0 and not timer.pending
    timer.cancel()
