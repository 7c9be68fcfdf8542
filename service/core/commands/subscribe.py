"""subscribe / unsubscribe / sub_refresh and the shared positioning/recovery logic (§6.4, §6.9)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import EngineError, HistoryQuery, StreamPosition
from ..hooks import SubscriptionOptions
from ..subscription import ChannelSub
from ..wire import require_json, wire_publication

if TYPE_CHECKING:
    from ..client import ClientSession


TTL_MAX = 2**32 - 1
"""``ttl`` is a ``uint32`` in the client protocol: a later expiry is announced as this."""


def ttl_of(expire_at: int) -> int:
    """Seconds until ``expire_at`` for connect/refresh/subscribe replies: at least 1 (SDKs need
    ttl >= 1 with expires), at most ``TTL_MAX`` (a token may expire centuries ahead)."""
    return min(TTL_MAX, max(1, int(expire_at - time.time() + 0.999)))


async def subscribe_channel(
    client: ClientSession,
    channel: str,
    opts: SubscriptionOptions,
    *,
    server_side: bool,
    recover_since: StreamPosition | None,
) -> tuple[ChannelSub, m.SubscribeResult]:
    """Register a subscription (state SUBSCRIBING) and compute its SubscribeResult.

    The caller writes the reply/push carrying the result, then calls ``client.activate``.
    ``recover_since`` is the client's position when it asked to recover.
    Raises ReplyError(100) when the engine fails, and disconnect 3506 when a JSON client
    would get ``opts.data`` or recovered publications that are not JSON (the subscription
    is rolled back).
    """
    node = client.node
    cfg = node.config
    require_json(client.transport.codec, payloads=(opts.data,))
    sub = ChannelSub(client, channel, opts, server_side=server_side)
    client.subs[channel] = sub
    try:
        await node.add_subscription(client, sub)
    except EngineError:
        # the broker could not subscribe (PUB/SUB down): v4 disconnects with 3004
        await _rollback(client, sub)
        raise c.DisconnectError(c.DISCONNECT_SERVER_ERROR) from None
    except c.ReplyError:
        # the broker cannot carry this channel (NATS: wildcards): v4 replies with its error
        await _rollback(client, sub)
        raise
    try:
        result = m.SubscribeResult(data=m.raw(opts.data))
        if opts.expire_at > 0 and opts.client_side_refresh and not server_side:
            result.expires = True
            result.ttl = ttl_of(opts.expire_at)
        if opts.positioned or opts.recoverable:
            pub_opts = node.hooks.publish_options(channel)
            meta_ttl = pub_opts.history_meta_ttl or cfg.history_meta_ttl
            result.positioned = True
            result.recoverable = opts.recoverable
            if opts.recoverable and recover_since is not None:
                await _recover(client, sub, result, recover_since, meta_ttl)
            else:
                hist = await node.broker.history(channel, HistoryQuery(limit=0, meta_ttl=meta_ttl))
                top = hist.position
                result.offset = top.offset
                result.epoch = top.epoch
                sub.offset = top.offset
                sub.epoch = top.epoch
    except EngineError:
        await _rollback(client, sub)
        raise c.ReplyError(c.ERROR_INTERNAL) from None
    except c.DisconnectError:  # recovered publications a JSON client cannot take (3506)
        await _rollback(client, sub)
        raise
    return sub, result


async def _rollback(client: ClientSession, sub: ChannelSub) -> None:
    """Undo a half-made subscription; the engine may still be failing."""
    client.subs.pop(sub.channel, None)
    try:
        await client.node.remove_subscription(client, sub, leave=False)
    except EngineError:
        pass


async def _recover(
    client: ClientSession,
    sub: ChannelSub,
    result: m.SubscribeResult,
    since: StreamPosition,
    meta_ttl: float,
) -> None:
    node = client.node
    node.metrics.inc_action("history_recover")
    limit = node.config.client_recovery_max_publication_limit
    hist = await node.broker.history(
        sub.channel,
        HistoryQuery(
            since=StreamPosition(since.offset, since.epoch),
            limit=limit + 1 if limit > 0 else -1,
            meta_ttl=meta_ttl,
        ),
    )
    top = hist.position
    pubs = hist.publications
    epoch_ok = not since.epoch or since.epoch == top.epoch
    if not pubs:
        recovered = epoch_ok and top.offset == since.offset
    else:
        recovered = (
            epoch_ok
            and pubs[0].offset == since.offset + 1
            and pubs[-1].offset == top.offset
            and (limit <= 0 or len(pubs) <= limit)
        )
    result.was_recovering = True
    result.recovered = recovered
    sub.offset = top.offset
    sub.epoch = top.epoch
    if recovered:
        require_json(client.transport.codec, pubs=pubs)
        result.offset = since.offset
        result.epoch = since.epoch
        result.publications = [wire_publication(p) for p in pubs]
    else:
        result.offset = top.offset
        result.epoch = top.epoch
    node.observe_recover(recovered)


async def handle_subscribe(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.subscribe
    assert req is not None
    channel = req.channel
    if not channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    node = client.node
    cfg = node.config
    if cfg.channel_max_length > 0 and len(channel) > cfg.channel_max_length:
        raise c.ReplyError(c.ERROR_BAD_REQUEST)
    if channel in client.subs:
        raise c.ReplyError(c.ERROR_ALREADY_SUBSCRIBED)
    if cfg.client_channel_limit > 0 and len(client.subs) >= cfg.client_channel_limit:
        raise c.ReplyError(c.ERROR_LIMIT_EXCEEDED)
    opts = await node.hooks.subscribe(client, req)
    if client.closed:
        return None
    if channel in client.subs:  # raced with a server-side subscribe
        raise c.ReplyError(c.ERROR_ALREADY_SUBSCRIBED)
    if opts.expire_at > 0 and opts.expire_at < time.time():
        raise c.ReplyError(c.ERROR_EXPIRED)
    since = StreamPosition(req.offset, req.epoch) if req.recover else None
    sub, result = await subscribe_channel(
        client, channel, opts, server_side=False, recover_since=since
    )
    if client.closed:
        return None
    client.write_reply(m.Reply(id=cmd.id, subscribe=result))
    client.activate(sub)
    client.schedule_sub_expiry_check(sub)
    return None


async def handle_unsubscribe(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.unsubscribe
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    await client.unsubscribe(req.channel, 0, "client unsubscribed", push=False)
    return m.Reply(unsubscribe=m.UnsubscribeResult())


async def handle_sub_refresh(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.sub_refresh
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    sub = client.subs.get(req.channel)
    if sub is None:
        raise c.ReplyError(c.ERROR_PERMISSION_DENIED)
    if not sub.options.client_side_refresh:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    if not req.token:
        raise c.ReplyError(c.ERROR_BAD_REQUEST)
    expire_at = await client.node.hooks.sub_refresh(client, req)
    if expire_at > 0 and expire_at < time.time():
        raise c.ReplyError(c.ERROR_EXPIRED)
    sub.options.expire_at = expire_at
    result = m.SubRefreshResult()
    if expire_at > 0:
        result.expires = True
        result.ttl = ttl_of(expire_at)
        client.schedule_sub_expiry_check(sub)
    return m.Reply(sub_refresh=result)
