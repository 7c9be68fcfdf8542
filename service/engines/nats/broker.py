"""NatsBroker: the ``Broker`` of Centrifugo v4's ``broker: nats`` (subjects and payloads in
``codec``, semantics in docs/nats.md).

* Publications, joins and leaves go to ``P.client.<channel>``; control messages to
  ``P.control`` or ``P.node.<id>``.  Delivery is at most once and asynchronous: the node
  hears its own publications back from NATS, so it must ``subscribe`` a channel first.
* No history: ``history`` and ``remove_history`` raise ``EngineError`` (the caller answers
  error 100, as v4 answers for channels with history), ``publish`` never returns a position,
  whatever the channel's history options.
* Idempotent publish (``PublishOptions.idempotency_key``) is remembered per node: NATS keeps
  no state, so a retry that reaches another node is published again (docs/beyond_v4.md).
* NATS down: ``publish``/``subscribe`` fail at once with ``EngineError`` (nothing is buffered
  for later, as v4 with its reconnect buffer disabled), ``healthy()`` is False; nats-py
  reconnects with exponential backoff, then every subscription is sent again and confirmed
  before ``healthy()`` turns True and the reconnect callback runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from service.core.engine import (
    BrokerEventHandler,
    ClientInfo,
    EngineError,
    HistoryQuery,
    HistoryResult,
    Publication,
    PublishOptions,
    PublishOutcome,
    PublishRun,
    publish_each,
)
from service.protocol import codes as c

from ..idempotency import IdempotentResults
from ..tls import TLSOptions
from .codec import (
    JOIN,
    PUBLICATION,
    Subjects,
    decode_push,
    encode_join_push,
    encode_leave_push,
    encode_publication_push,
)
from .connection import (
    DirectClient,
    backoff_delay,
    fewest_reconnects,
    is_nats_error,
    redact,
    split_servers,
)
from .subscriptions import Subscriptions

logger = logging.getLogger(__name__)

NOT_AVAILABLE = "history is not available with the NATS broker"
_RECHECK = 0.05  # s: second look before calling a connection stalled


class NatsBroker:
    """``Broker`` over one nats-py connection (``DirectClient``).

    * ``url``: ``nats_url`` (comma-separated servers; ``user:pass@``/``token@`` credentials and
      ``tls://`` as nats-py understands them); ``prefix``: ``nats_prefix``.
    * ``dial_timeout``: ``nats_dial_timeout``, bound of one connection attempt.
    * ``write_timeout``: ``nats_write_timeout``: after a keepalive ``PING`` (every
      ``ping_interval`` s), a window this long in which nothing at all arrives from NATS
      marks the connection stalled: it is dropped and re-established.
    * ``tls``/``credentials_file``: client TLS and a NATS ``.creds`` file (JWT + NKey).
    * ``io_timeout``: bound for confirming subscriptions (PING/PONG after the SUBs).
    * ``backoff_min``/``backoff_max``: reconnect delays (exponential, jittered).
    * ``on_close``: more things to close with the broker (e.g. a presence manager's Redis).
    """

    def __init__(
        self,
        *,
        url: str = "nats://127.0.0.1:4222",
        prefix: str = "centrifugo",
        dial_timeout: float = 1.0,
        write_timeout: float = 1.0,
        tls: TLSOptions | None = None,
        credentials_file: str = "",
        name: str = "gyre",
        io_timeout: float = 4.0,
        ping_interval: float = 1.0,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
        on_close: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._servers = split_servers(url) or ["nats://127.0.0.1:4222"]
        self._subjects = Subjects(prefix)
        self._dial_timeout = dial_timeout
        self._write_timeout = write_timeout
        self._tls = tls or TLSOptions()
        self._credentials_file = credentials_file
        self._name = name
        self._io_timeout = io_timeout
        self._ping_interval = ping_interval
        self._backoff = (backoff_min, backoff_max)
        self._on_close = list(on_close)
        self._nc: DirectClient | None = None
        self._handler: BrokerEventHandler | None = None
        self._reconnect_cb: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subs = Subscriptions(self._subjects, io_timeout=io_timeout, spawn=self._spawn)
        self._first_error: asyncio.Future[None] | None = None
        self._ready = False
        self._down_logged = False
        self._closed = False
        self._results = IdempotentResults(time.monotonic)

    # -- lifecycle -------------------------------------------------------------------------

    def set_reconnect_callback(self, cb: Callable[[], None] | None) -> None:
        """``cb()`` runs once a lost connection is back and every subscription confirmed."""
        self._reconnect_cb = cb

    async def start(self, handler: BrokerEventHandler, node_id: str) -> None:
        """Connect, subscribe ``P.control`` and ``P.node.<node_id>`` and deliver to ``handler``.

        Raises ``EngineError`` when the first connection attempt fails (Centrifugo v4 also
        refuses to start then).  Calling it again only replaces the handler.
        """
        if self._closed:
            raise EngineError("nats broker is closed")
        self._handler = handler
        if self._nc is not None:
            return
        try:
            options = self._connect_options()
        except (OSError, ValueError) as e:  # unreadable files (ssl.SSLError is an OSError)
            raise EngineError(f"nats: bad TLS or credentials settings: {e}") from None
        nc = DirectClient()
        nc.add(self._subjects.control, self._on_control)
        nc.add(self._subjects.node(node_id), self._on_control)
        loop = asyncio.get_running_loop()
        self._first_error = loop.create_future()
        connecting = loop.create_task(nc.connect(**options))
        try:
            async with asyncio.timeout(self._dial_timeout + self._io_timeout):
                await asyncio.wait(
                    {connecting, self._first_error}, return_when=asyncio.FIRST_COMPLETED
                )
                if not connecting.done():
                    raise EngineError(f"nats: cannot connect to {self._url()}: {self._error()}")
                connecting.result()
                nc.write_subs()
                await asyncio.shield(await nc.ping())
        except BaseException as e:
            connecting.cancel()
            await asyncio.wait({connecting})
            with contextlib.suppress(Exception):
                await nc.close()
            if isinstance(e, EngineError):
                raise
            if isinstance(e, TimeoutError | OSError) or is_nats_error(e):
                raise EngineError(f"nats: cannot connect to {self._url()}: {e!r}") from None
            raise
        finally:
            self._first_error = None
        self._nc = nc
        self._ready = True
        self._spawn(self._keepalive(nc))
        logger.info("nats broker connected to %s", self._url())

    async def close(self) -> None:
        """Close the connection and stop background tasks (idempotent)."""
        self._closed = True
        self._ready = False
        self._handler = None
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()
        self._subs.fail_waiting("nats broker is closed")
        closers, self._on_close = self._on_close, []
        for closer in closers:
            await closer()

    def healthy(self) -> bool:
        """Connected, every subscription confirmed, not stalled, not closed."""
        nc = self._nc
        return self._ready and nc is not None and nc.is_connected

    def _connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "servers": self._servers,
            "name": self._name,
            "connect_timeout": self._dial_timeout,
            "allow_reconnect": True,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": self._backoff[1],
            "reconnect_to_server_handler": self._next_server,
            # publishes fail while disconnected instead of piling up (v4: no reconnect buffer)
            "pending_size": 0,
            "flush_timeout": self._write_timeout,
            "skip_subject_validation": True,  # channels are checked once, in _target
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
        }
        if self._tls.enabled:
            options["tls"] = self._tls.context()
            if self._tls.server_name:
                options["tls_hostname"] = self._tls.server_name
        if self._credentials_file:
            # read once here so that a missing or unreadable file is named at start-up
            # (nats-py reads it again for every connect)
            with open(self._credentials_file, "rb") as f:
                f.read(1)
            options["user_credentials"] = self._credentials_file
        return options

    def _url(self) -> str:
        return ",".join(redact(s) for s in self._servers)

    def _error(self) -> str:
        fut = self._first_error
        if fut is not None and fut.done() and fut.exception() is not None:
            return repr(fut.exception())
        return "unknown error"

    def _next_server(self, servers: list[Any], _info: dict[str, Any]) -> tuple[Any, float]:
        best = fewest_reconnects(servers)
        low, high = self._backoff
        return best, backoff_delay(best.reconnects, low, high, lambda: random.uniform(0.5, 1.0))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- connection events (nats-py callbacks) ---------------------------------------------

    async def _on_error(self, e: Exception) -> None:
        first = self._first_error
        if first is not None and not first.done():
            first.set_exception(e)
            first.exception()  # retrieved: the starter reads it through _error()
            return
        if self._closed:
            return
        level = logging.DEBUG if self._down_logged else logging.WARNING
        logger.log(level, "nats broker: %r", e)

    async def _on_disconnected(self) -> None:
        self._ready = False
        self._subs.fail_waiting("nats connection lost")
        if not self._closed and not self._down_logged:
            self._down_logged = True
            logger.warning("nats broker: connection lost, reconnecting")

    async def _on_reconnected(self) -> None:
        nc = self._nc
        if nc is None or self._closed:
            return
        nc.resubscribe()
        self._spawn(self._confirm_resubscribe(nc))

    async def _confirm_resubscribe(self, nc: DirectClient) -> None:
        pong = await nc.ping()
        await asyncio.wait({pong}, timeout=self._io_timeout)
        if not pong.done():
            await nc.drop_stalled()
            return
        self._ready = True
        self._down_logged = False
        logger.info("nats broker: reconnected, %d subscriptions restored", len(nc.subjects))
        cb = self._reconnect_cb
        if cb is not None:
            try:
                cb()
            except Exception:
                logger.exception("nats broker: reconnect callback failed")

    async def _keepalive(self, nc: DirectClient) -> None:
        """PING every ``ping_interval``; no PONG and nothing at all received within a
        ``write_timeout`` window: the connection is stalled and gets re-established.  While
        data keeps arriving the wait goes on (a busy connection is not a dead one)."""
        while True:
            await asyncio.sleep(self._ping_interval)
            if not (self._ready and nc.is_connected):
                continue
            try:
                pong = await nc.ping()
            except Exception:
                continue
            while not pong.done() and nc.is_connected:
                seen = nc.received_bytes()
                await asyncio.wait({pong}, timeout=self._write_timeout)
                if not pong.done() and nc.received_bytes() == seen:
                    # the process may have been starved of CPU: let pending reads run first
                    await asyncio.sleep(_RECHECK)
                if not pong.done() and nc.is_connected and nc.received_bytes() == seen:
                    logger.warning(
                        "nats broker: no answer within %ss, reconnecting", self._write_timeout
                    )
                    self._ready = False
                    await nc.drop_stalled()
                    break

    # -- subscriptions ---------------------------------------------------------------------

    def _live(self) -> DirectClient:
        nc = self._nc
        if nc is None or self._closed:
            raise EngineError("nats broker is not started")
        if not nc.is_connected:
            raise EngineError("nats: not connected")
        return nc

    async def subscribe(self, channel: str) -> None:
        """Subscribe ``P.client.<channel>``; returns once NATS confirmed it (the SUBs of one
        loop tick share one write and one PING/PONG).  A channel NATS cannot carry (v4: any
        containing ``*`` or ``>``) raises ``ReplyError`` 107 (bad request)."""
        nc = self._live()
        target = self._subs.target(channel)
        if target is None:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        cb = functools.partial(self._on_client, channel)
        await self._subs.subscribe(nc, channel, target[0], cb)

    async def unsubscribe(self, channel: str) -> None:
        """Unsubscribe ``P.client.<channel>`` (UNSUBs of one tick in one write; not awaited)."""
        nc = self._nc
        if nc is not None:
            self._subs.unsubscribe(nc, channel)

    # -- publishing ------------------------------------------------------------------------

    def _client_target(self, channel: str) -> tuple[str, bytes]:
        target = self._subs.target(channel)
        if target is None:
            raise EngineError(f"nats: channel {channel!r} cannot be a NATS subject")
        return target

    async def _send(self, subject: str, payload: bytes) -> None:
        nc = self._live()
        try:
            await nc.publish(subject, payload)
        except Exception as e:
            raise EngineError(f"nats: publish failed: {e!r}") from None

    async def publish_many(
        self, runs: Sequence[PublishRun]
    ) -> list[list[PublishOutcome] | Exception]:
        """One ``publish`` per run, in order (``publish_each``)."""
        return await publish_each(self, runs)

    async def publish(
        self, channel: str, pubs: Sequence[Publication], opts: PublishOptions
    ) -> list[PublishOutcome]:
        """Publish ``Push{channel, pub}`` for each of ``pubs`` in order (none waits for NATS
        to confirm).  No history with NATS (``opts`` has no effect but its idempotency key,
        remembered on this node only): each entry is None, or the exception that publication
        failed with (a channel NATS cannot carry: an ``EngineError``, v4's error 100)."""
        key = opts.idempotency_key
        if key:
            if self._results.lookup(channel, key)[0]:
                return [None]
            self._results.remember(channel, key, None, opts.idempotent_result_ttl)
        out: list[PublishOutcome] = []
        for pub in pubs:
            try:
                subject, header = self._client_target(channel)
                await self._send(subject, encode_publication_push(header, pub))
                out.append(None)
            except Exception as e:
                out.append(e)
        if key and isinstance(out[0], Exception):
            self._results.forget(channel, key)  # nothing was published: not remembered
        return out

    async def publish_join(self, channel: str, info: ClientInfo) -> None:
        subject, header = self._client_target(channel)
        await self._send(subject, encode_join_push(header, info))

    async def publish_leave(self, channel: str, info: ClientInfo) -> None:
        subject, header = self._client_target(channel)
        await self._send(subject, encode_leave_push(header, info))

    async def publish_control(self, data: bytes, node_id: str = "") -> None:
        """``data`` as-is to ``P.control`` or ``P.node.<node_id>``."""
        subject = self._subjects.node(node_id) if node_id else self._subjects.control
        await self._send(subject, data)

    # -- history: not available --------------------------------------------------------------

    async def history(self, channel: str, query: HistoryQuery) -> HistoryResult:
        """Always ``EngineError``: NATS keeps no history (v4 answers "not available")."""
        raise EngineError(NOT_AVAILABLE)

    async def remove_history(self, channel: str) -> None:
        raise EngineError(NOT_AVAILABLE)

    # -- intake (synchronous, inside nats-py's read loop; must never raise) ----------------

    def _on_client(self, channel: str, data: bytes) -> None:
        handler = self._handler
        if handler is None:
            return
        try:
            kind, value, position = decode_push(data)
        except Exception as e:
            logger.warning("nats broker: bad payload for channel %r: %r", channel, e)
            return
        try:
            if kind == PUBLICATION:
                handler.handle_publication(channel, value, position)
            elif kind == JOIN:
                handler.handle_join(channel, value)
            else:
                handler.handle_leave(channel, value)
        except Exception:
            logger.exception("nats broker: delivery in %r failed", channel)

    def _on_control(self, data: bytes) -> None:
        handler = self._handler
        if handler is None:
            return
        try:
            handler.handle_control(data)
        except Exception:
            logger.exception("nats broker: control message failed")
