"""``DirectClient``: the nats-py client with synchronous, batched subscriptions.

nats-py (the maintained asyncio NATS client) keeps the connection: CONNECT, TLS, auth,
server discovery, reconnects, PING/PONG and publishing all stay nats-py's.  Its own
subscriptions hand each message to a per-subscription queue and task and build a ``Msg``
object per message; the broker's subscriptions here skip all of that:

* ``add`` registers a callback under a new subscription ID (``sid``) and queues its ``SUB``;
  the ``SUB`` lines of one loop tick go out in one write (``write_subs``);
* the parser's ``MSG`` for such a sid calls the callback with the payload, synchronously,
  inside nats-py's read loop (no Task, Queue or ``Msg`` per message);
* these subscriptions are unknown to nats-py, so after a reconnect it does not replay them:
  the broker does (``resubscribe``), in batched writes, and confirms them with ``ping``.

This relies on nats-py internals (``_process_msg``, ``_sid``, ``_transport``, ``_send_ping``,
``_process_op_err``); ``tests/unit/engines/test_nats_client_hooks.py`` fails on a nats-py
release that changes them.  Measured gain: bench/nats_bench.py (CPU per received message
against a plain nats-py subscription callback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import StaleConnectionError

MessageCallback = Callable[[bytes], None]

# SUB lines per write when resubscribing everything after a reconnect
RESUBSCRIBE_BATCH = 512


class DirectClient(Client):
    """A nats-py ``Client`` plus the broker's direct subscriptions (see module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.direct: dict[int, MessageCallback] = {}
        self.subjects: dict[int, str] = {}
        self._queued: list[bytes] = []

    # -- intake ----------------------------------------------------------------------------

    async def _process_msg(
        self,
        sid: int,
        subject: bytes,
        reply: bytes,
        data: bytes,
        headers: bytes,
    ) -> None:
        """nats-py's parser calls this for every ``MSG``; direct sids never reach nats-py.

        The callback must not raise: an exception here would end nats-py's read loop.
        """
        cb = self.direct.get(sid)
        if cb is None:
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        cb(data)

    # -- subscriptions ---------------------------------------------------------------------

    def add(self, subject: str, cb: MessageCallback) -> int:
        """Register ``cb`` for ``subject`` and queue its ``SUB`` (sent by ``write_subs``)."""
        self._sid += 1
        sid: int = self._sid
        self.direct[sid] = cb
        self.subjects[sid] = subject
        self._queued.append(b"SUB %s %d\r\n" % (subject.encode(), sid))
        return sid

    def remove(self, sid: int) -> None:
        """Forget ``sid``; queue its ``UNSUB`` when connected (messages already on their way
        are dropped by nats-py: the sid is unknown to it)."""
        self.direct.pop(sid, None)
        if self.subjects.pop(sid, None) is not None and self.is_connected:
            self._queued.append(b"UNSUB %d\r\n" % sid)

    def write_subs(self) -> None:
        """Write every queued ``SUB``/``UNSUB`` line in one go (nothing when disconnected:
        ``resubscribe`` sends the full set after the reconnect)."""
        queued, self._queued = self._queued, []
        if queued and self.is_connected and self._transport is not None:
            self._transport.writelines(queued)

    def resubscribe(self) -> None:
        """After a reconnect: ``SUB`` every direct subscription again, in batched writes."""
        self._queued = []
        transport = self._transport
        if transport is None:
            return
        lines = [b"SUB %s %d\r\n" % (s.encode(), sid) for sid, s in self.subjects.items()]
        for i in range(0, len(lines), RESUBSCRIBE_BATCH):
            transport.writelines(lines[i : i + RESUBSCRIBE_BATCH])

    async def ping(self) -> asyncio.Future[Any]:
        """Send ``PING`` after everything written so far; the returned future resolves on its
        ``PONG``.  Never cancel it: nats-py resolves PONG futures in order and a cancelled one
        would break its read loop.  A future whose connection died is simply left pending."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._send_ping(fut)
        return fut

    async def drop_stalled(self) -> None:
        """Treat the connection as dead: nats-py closes it and reconnects."""
        await self._process_op_err(StaleConnectionError())

    def received_bytes(self) -> int:
        """Bytes received so far (grows while NATS sends anything)."""
        value: int = self.stats["in_bytes"]
        return value


def split_servers(url: str) -> list[str]:
    """``nats_url`` as nats-py's server list: comma-separated URLs, as Centrifugo accepts."""
    return [u.strip() for u in url.split(",") if u.strip()]


def backoff_delay(attempts: int, low: float, high: float, jitter: Callable[[], float]) -> float:
    """Exponential reconnect delay: ``low * 2**attempts`` capped at ``high``, times
    ``jitter()`` (expected in [0.5, 1]); never zero, so a dead server is never hammered."""
    delay: float = min(high, low * 2 ** min(attempts, 30)) * jitter()
    return max(low, delay)


def fewest_reconnects(servers: Iterable[Any]) -> Any:
    """The server of the pool that failed least recently (nats-py ``Server`` snapshots)."""
    return min(servers, key=lambda s: s.reconnects)


def redact(url: str) -> str:
    """``url`` without its password or token (for logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0] if ":" in userinfo else ""
    masked = f"{user}:***" if user else "***"
    return f"{scheme}{sep}{masked}@{host}"


def is_nats_error(e: BaseException) -> bool:
    return isinstance(e, NatsError)
