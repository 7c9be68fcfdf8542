"""Setting up one subscription: register it, read its position or recover it
(docs/protocol.md#subscribing, docs/protocol.md#positioning-and-recovery).

The same code serves a client ``subscribe``, the server-side subscriptions of ``connect`` and
the server API's subscribe (``ClientSession.subscribe_server_side``).  It registers through
the session (``ClientSession.add_subscription``) and leaves the subscription SUBSCRIBING: the
caller writes the reply or push carrying the result, then ``ClientSession.activate`` makes it
live.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import messages as m
from .engine import EngineError, HistoryQuery, StreamPosition
from .hooks import SubscriptionOptions
from .recovery import recover
from .state import ttl_of
from .subscription import ChannelSub
from .wire import require_json

if TYPE_CHECKING:
    from .client import ClientSession

log = logging.getLogger("gyre.client")


async def subscribe_channel(
    client: ClientSession,
    channel: str,
    opts: SubscriptionOptions,
    *,
    server_side: bool,
    recover_since: StreamPosition | None,
) -> tuple[ChannelSub, m.SubscribeResult]:
    """Register a subscription (SUBSCRIBING) and compute its SubscribeResult.

    ``recover_since`` is the client's position when it asked to recover (``auto_recover``
    makes every subscription recover; ``recovery.recover``).  ``opts.delta``: the result
    says so (docs/beyond_v4.md).  The broker failing to subscribe the channel raises
    DisconnectError(3004) (as v4), a channel the broker cannot carry its ReplyError, any
    other engine failure ReplyError(100), a rejected unrecovered recovery ReplyError(112),
    and a JSON client that would get ``opts.data`` or recovered publications that are not
    JSON disconnect 3506; in each case the subscription is rolled back.
    """
    node = client.node
    require_json(client.transport.codec, payloads=(opts.data,))
    if opts.auto_recover and recover_since is None:
        recover_since = StreamPosition(0, "")
    try:
        sub = await client.add_subscription(channel, opts, server_side=server_side)
    except EngineError:
        # the broker could not subscribe (PUB/SUB down): v4 disconnects with 3004
        await _rollback(client, channel)
        raise c.DisconnectError(c.DISCONNECT_SERVER_ERROR) from None
    except c.ReplyError:
        # the broker cannot carry this channel (NATS: wildcards): v4 replies with its error
        await _rollback(client, channel)
        raise
    try:
        result = m.SubscribeResult(data=m.raw(opts.data), delta=opts.delta)
        if opts.expire_at > 0 and opts.client_side_refresh and not server_side:
            result.expires = True
            result.ttl = ttl_of(opts.expire_at)
        if opts.positioned or opts.recoverable:
            meta_ttl = node.hooks.publish_options(channel).history_meta_ttl
            result.positioned = True
            result.recoverable = opts.recoverable
            if opts.recoverable and recover_since is not None:
                await recover(client, sub, result, recover_since, meta_ttl)
            else:
                hist = await node.broker.history(channel, HistoryQuery(limit=0, meta_ttl=meta_ttl))
                top = hist.position
                result.offset = top.offset
                result.epoch = top.epoch
                sub.place(top)
    except EngineError:
        await _rollback(client, channel)
        raise c.ReplyError(c.ERROR_INTERNAL) from None
    except (c.DisconnectError, c.ReplyError):  # 3506 for JSON clients; 112 (flag 2)
        await _rollback(client, channel)
        raise
    return sub, result


async def _rollback(client: ClientSession, channel: str) -> None:
    """Undo a half-made subscription; the engine may still be failing."""
    try:
        await client.drop_subscription(channel)
    except EngineError as e:
        log.warning("client %s: rollback of %s failed: %s", client.id, channel, e)
