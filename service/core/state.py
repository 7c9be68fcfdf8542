"""States of a connection and of its subscriptions, and the stream-position rule.

A leaf module (it imports nothing of the service): the session (``client.py``), its
subscriptions (``subscription.py``), the hub, the node and the commands all read states from
here, and only the session and its subscriptions change them.
"""

from __future__ import annotations

import enum
import time


class ConnectionState(enum.IntEnum):
    """``NEW`` until a successful connect (``CONNECTED``); ``FAILED`` after a connect was
    answered with an error (every further command is refused); ``CLOSED`` for good."""

    NEW = 0
    CONNECTED = 1
    FAILED = 2
    CLOSED = 3


class SubscriptionState(enum.IntEnum):
    """``SUBSCRIBING`` while the position is read and the reply written (publications are
    buffered meanwhile); ``SUBSCRIBED`` once they are delivered live."""

    SUBSCRIBING = 0
    SUBSCRIBED = 1


class Continuity(enum.IntEnum):
    """Where a stream position stands against the last one delivered."""

    IN_ORDER = 0  # the next one: same epoch, offset = last + 1
    DUPLICATE = 1  # already delivered: same epoch, offset <= last
    GAP = 2  # publications were lost: a later offset, or another epoch


# The members as module globals for the hot paths (the hub reads them on every broadcast): on
# Python 3.11 ``SubscriptionState.SUBSCRIBED`` is a descriptor read of 0.07 us, a global 0.01 us.
NEW, CONNECTED, FAILED, CLOSED = ConnectionState
SUBSCRIBING, SUBSCRIBED = SubscriptionState
IN_ORDER, DUPLICATE, GAP = Continuity


def continuity(last_offset: int, last_epoch: str, offset: int, epoch: str) -> Continuity:
    """The stream-position rule (docs/protocol.md#positioning-and-recovery), the only place
    it is written."""
    if epoch != last_epoch:
        return GAP
    if offset == last_offset + 1:
        return IN_ORDER
    if offset <= last_offset:
        return DUPLICATE
    return GAP


TTL_MAX = 2**32 - 1
"""``ttl`` is a ``uint32`` in the client protocol: a later expiry is announced as this."""


def ttl_of(expire_at: int) -> int:
    """Seconds until ``expire_at`` as a result's ``ttl``: at least 1, since the SDKs need
    ``ttl >= 1`` whenever ``expires`` is true (docs/protocol.md#messages-and-encodings), at
    most ``TTL_MAX`` (a token may expire centuries ahead)."""
    return min(TTL_MAX, max(1, int(expire_at - time.time() + 0.999)))
