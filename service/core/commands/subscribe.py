"""subscribe / unsubscribe / sub_refresh (docs/protocol.md#subscribing,
docs/protocol.md#expiry-and-refresh); setting a subscription up is ``subscribing``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import StreamPosition
from ..hooks import SubscriptionOptions
from ..state import ttl_of
from ..subscribing import subscribe_channel
from ..tags_filter import compile_filter

if TYPE_CHECKING:
    from ..client import ClientSession


async def handle_subscribe(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.subscribe
    assert req is not None
    channel = req.channel
    if not channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    if req.delta and req.delta != "fossil":  # before any channel check, as v6
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
    negotiate(opts, req)
    since = StreamPosition(req.offset, req.epoch) if req.recover else None
    sub, result = await subscribe_channel(
        client, channel, opts, server_side=False, recover_since=since
    )
    if client.closed:
        return None
    client.write_reply(m.Reply(id=cmd.id, subscribe=result))
    client.activate(sub)
    return None


FLAG_REJECT_UNRECOVERED = 2
"""``SubscribeRequest.flag`` bit: answer 112 instead of an unrecovered stream recovery."""


def negotiate(opts: SubscriptionOptions, req: m.SubscribeRequest) -> None:
    """Delta, tags filter and flags of a client subscribe (docs/beyond_v4.md): ``delta`` when
    the namespace allows fossil; ``tf`` refused with 107 when not allowed, invalid, or
    together with a negotiated delta (Gyre's choice); flag 2 (reject unrecovered)."""
    delta = req.delta == "fossil" and opts.allow_delta
    opts.reject_unrecovered = bool(req.flag & FLAG_REJECT_UNRECOVERED)
    if req.tf is not None:
        if not opts.allow_tags_filter or delta:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        opts.tags_filter = compile_filter(req.tf)
    opts.delta = delta


async def handle_unsubscribe(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.unsubscribe
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    code, reason = c.UNSUBSCRIBE_CLIENT
    await client.unsubscribe(req.channel, code, reason, push=False)
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
    client.extend_subscription(sub, expire_at)
    result = m.SubRefreshResult()
    if expire_at > 0:
        result.expires = True
        result.ttl = ttl_of(expire_at)
    return m.Reply(sub_refresh=result)
