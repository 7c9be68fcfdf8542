"""The connect command (docs/protocol.md)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import StreamPosition
from ..state import ttl_of
from ..subscribing import subscribe_channel
from ..wire import require_json

if TYPE_CHECKING:
    from ..client import ClientSession


async def handle_connect(client: ClientSession, cmd: m.Command) -> m.Reply | None:
    req = cmd.connect
    assert req is not None
    node = client.node
    cfg = node.config
    decision = await node.hooks.connect(client, req)
    if client.closed:  # gone while the token or proxy was checked: register nothing
        return None
    require_json(client.transport.codec, payloads=(decision.data,))
    if cfg.client_channel_limit > 0 and len(decision.subs) > cfg.client_channel_limit:
        raise c.DisconnectError(c.DISCONNECT_CHANNEL_LIMIT)
    limit = cfg.client_user_connection_limit
    if limit > 0 and decision.user and len(node.hub.users.get(decision.user, ())) >= limit:
        raise c.DisconnectError(c.DISCONNECT_CONNECTION_LIMIT)
    if decision.expire_at > 0 and decision.expire_at < time.time():
        raise c.ReplyError(c.ERROR_EXPIRED)
    client.establish(decision, req)

    subs_results: dict[str, m.SubscribeResult] = {}
    pending = []
    try:
        for channel, opts in decision.subs.items():
            recover_req = req.subs.get(channel)
            since = None
            if recover_req is not None and recover_req.recover:
                since = StreamPosition(recover_req.offset, recover_req.epoch)
            sub, sub_result = await subscribe_channel(
                client, channel, opts, server_side=True, recover_since=since
            )
            if client.closed:  # its close already undid what was registered
                return None
            subs_results[channel] = sub_result
            pending.append(sub)
    except c.ReplyError:
        raise c.DisconnectError(c.DISCONNECT_SERVER_ERROR) from None

    expires = client.expire_at > 0 and client.client_side_refresh
    ttl = ttl_of(client.expire_at) if expires else 0
    transport = client.transport
    # whole seconds on the wire; a sub-second interval is advertised as 1 s (pings still come)
    ping = max(1, round(cfg.ping_interval)) if transport.app_ping and cfg.ping_interval > 0 else 0
    pong = (not transport.unidirectional) and cfg.pong_timeout > 0 and ping > 0
    if transport.unidirectional:
        push = m.Push(
            connect=m.Connect(
                client=client.id,
                version=node.version,
                data=m.raw(decision.data),
                subs=subs_results,
                expires=expires,
                ttl=ttl,
                ping=ping,
                pong=False,
                session=client.session_id,
            )
        )
        client.write_push(push)
        reply = None
    else:
        result = m.ConnectResult(
            client=client.id,
            version=node.version,
            expires=expires,
            ttl=ttl,
            data=m.raw(decision.data),
            subs=subs_results,
            ping=ping,
            pong=pong,
            session=client.session_id if transport.emulation else "",
            node=node.id if transport.emulation else "",
        )
        client.write_reply(m.Reply(id=cmd.id, connect=result))
        reply = None
    for sub in pending:
        client.activate(sub)
    client.start_timers()
    node.on_client_connected(client)
    if decision.single_connection and client.user:
        node.spawn(
            node.users.disconnect(client.user, c.DISCONNECT_CONNECTION_LIMIT, whitelist=[client.id])
        )
    return reply
