"""The stream-position rule (docs/protocol.md#positioning-and-recovery) and the states."""

from __future__ import annotations

import time
from typing import Any

import pytest

from service.core.engine import StreamPosition
from service.core.hooks import SubscriptionOptions
from service.core.state import (
    ConnectionState,
    Continuity,
    SubscriptionState,
    continuity,
    ttl_of,
)
from service.core.subscription import ChannelSub


@pytest.mark.parametrize(
    ("last", "seen", "expected"),
    [
        ((5, "e"), (6, "e"), Continuity.IN_ORDER),
        ((5, "e"), (5, "e"), Continuity.DUPLICATE),
        ((5, "e"), (1, "e"), Continuity.DUPLICATE),
        ((5, "e"), (7, "e"), Continuity.GAP),
        ((5, "e"), (6, "other"), Continuity.GAP),
        ((0, ""), (1, ""), Continuity.IN_ORDER),
    ],
)
def test_continuity(last: tuple[int, str], seen: tuple[int, str], expected: Continuity) -> None:
    assert continuity(*last, *seen) is expected


def sub() -> ChannelSub:
    client: Any = object()
    return ChannelSub(client, "ch", SubscriptionOptions(positioned=True), server_side=False)


def test_check_moves_only_in_order() -> None:
    s = sub()
    s.place(StreamPosition(3, "e"))
    assert s.check(4, "e") is Continuity.IN_ORDER and (s.offset, s.epoch) == (4, "e")
    assert s.check(4, "e") is Continuity.DUPLICATE and s.offset == 4
    assert s.check(6, "e") is Continuity.GAP and s.offset == 4
    assert s.check(5, "x") is Continuity.GAP and (s.offset, s.epoch) == (4, "e")


def test_behind_the_top() -> None:
    s = sub()
    s.place(StreamPosition(4, "e"))
    assert not s.behind(StreamPosition(4, "e"))
    assert s.behind(StreamPosition(5, "e"))  # one publication may be missing
    assert s.behind(StreamPosition(4, "new-epoch"))


def test_buffer_until_live() -> None:
    s = sub()
    assert s.state is SubscriptionState.SUBSCRIBING and s.buffer == []
    assert s.take_buffer() == []
    assert s.state is SubscriptionState.SUBSCRIBED and s.buffer is None


def test_states_are_int_enums() -> None:
    assert [int(x) for x in ConnectionState] == [0, 1, 2, 3]
    assert ConnectionState.CONNECTED.name == "CONNECTED"


def test_ttl_of_is_at_least_one() -> None:
    now = int(time.time())
    assert ttl_of(now) == 1
    assert ttl_of(now + 100) in (100, 101)
