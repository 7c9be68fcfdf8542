"""publish, presence, presence_stats, history, rpc, send, refresh, ping (spec §6.5, §6.6)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import StreamPosition
from ..wire import require_json, wire_info, wire_publication
from .subscribe import ttl_of

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
    if decision.data is not None:
        data = decision.data
    info = client.client_info(req.channel)
    await client.node.publish(req.channel, data, info=info, opts=decision.options)
    return m.Reply(publish=m.PublishResult())


async def handle_presence(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.presence
    assert req is not None
    if not req.channel:
        raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)
    await client.node.hooks.presence(client, req.channel)
    presence = await client.node.presence.presence(req.channel)
    require_json(client.transport.codec, infos=presence.values())
    result: dict[str, m.ClientInfo] = {}
    for cid, info in presence.items():
        wi = wire_info(info)
        assert wi is not None
        result[cid] = wi
    return m.Reply(presence=m.PresenceResult(presence=result))


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
    return m.Reply(
        history=m.HistoryResult(
            publications=[wire_publication(p) for p in pubs],
            epoch=top.epoch,
            offset=top.offset,
        )
    )


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
    if decision.info is not None:
        client.info = decision.info
    if decision.meta is not None:
        client.meta = decision.meta
    client.expire_at = decision.expire_at
    result = m.RefreshResult()
    if client.expire_at > 0:
        result.expires = True
        result.ttl = ttl_of(client.expire_at)
        client.schedule_expiry_check()
    return m.Reply(refresh=result)
