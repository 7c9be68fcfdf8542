"""publish, presence, presence_stats, history, rpc, send, refresh, ping (docs/protocol.md)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import Publication, StreamPosition
from ..state import ttl_of
from ..wire import require_json, wire_history, wire_presence

if TYPE_CHECKING:
    from ..client import ClientSession


async def handle_ping(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    raise c.ReplyError(c.ERROR_NOT_AVAILABLE)


async def handle_send(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    # Centrifugo OSS registers no message handler: always 3508.
    raise c.DisconnectError(c.DISCONNECT_NOT_AVAILABLE)


async def handle_publish(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.publish
    assert req is not None
    data = bytes(req.data)
    if not req.channel or not data or data == b"null":
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    decision = await client.node.hooks.publish(client, req)
    if decision.data is not None:  # a publish proxy rewrote it
        data = decision.data
    pub = Publication(data, client.client_info(req.channel))
    [outcome] = await client.node.publish(req.channel, (pub,), decision.options)
    if isinstance(outcome, Exception):
        raise outcome
    return m.Reply(publish=m.PublishResult())


async def handle_presence(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.presence
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    await client.node.hooks.presence(client, req.channel)
    presence = await client.node.presence.presence(req.channel)
    require_json(client.transport.codec, infos=presence.values())
    return m.Reply(presence=wire_presence(presence))


async def handle_presence_stats(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.presence_stats
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    await client.node.hooks.presence_stats(client, req.channel)
    num_clients, num_users = await client.node.presence.presence_stats(req.channel)
    return m.Reply(
        presence_stats=m.PresenceStatsResult(num_clients=num_clients, num_users=num_users)
    )


async def handle_history(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.history
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    node = client.node
    await node.hooks.history(client, req)
    max_limit = node.config.client_history_max_publication_limit
    limit = req.limit
    if max_limit > 0 and (limit < 0 or limit > max_limit):
        limit = max_limit
    since = None
    if req.since is not None:
        since = StreamPosition(req.since.offset, req.since.epoch)
        if req.reverse and since.offset == 0:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
    pubs, top = await node.history(req.channel, limit=limit, since=since, reverse=req.reverse)
    require_json(client.transport.codec, pubs=pubs)
    return m.Reply(history=wire_history(pubs, top))


async def handle_rpc(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.rpc
    assert req is not None
    data = await client.node.hooks.rpc(client, req)
    return m.Reply(rpc=m.RPCResult(data=m.raw(data)))


async def handle_refresh(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.refresh
    assert req is not None
    if not req.token or not client.client_side_refresh:
        # the server refreshes this connection (refresh proxy): the client must not
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    decision = await client.node.hooks.refresh(client, req)
    if decision.expire_at > 0 and decision.expire_at < time.time():
        raise c.ReplyError(c.ERROR_EXPIRED)
    if decision.token_channels is not None and decision.token_channels != client.token_channels:
        raise c.DisconnectError(c.DISCONNECT_INSUFFICIENT_STATE)
    client.refresh_credentials(expire_at=decision.expire_at, info=decision.info, meta=decision.meta)
    result = m.RefreshResult()
    if decision.expire_at > 0:
        result.expires = True
        result.ttl = ttl_of(decision.expire_at)
    return m.Reply(refresh=result)
