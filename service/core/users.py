"""User operations: the server API's subscribe, unsubscribe, disconnect and refresh.

An operation targets the connections of ``user`` (narrowed by ``client`` and/or ``session``)
on every node (docs/server_api.md#user-operations).  It travels as the Centrifuge
``controlpb`` message of the same name (``service.protocol.control``): the node that got the
API call applies it to its own connections and sends it to the others over the broker's
control channel; each of them applies it when it arrives (``Cluster.handle`` hands it here).
Applying means: find the connections through the hub, then run the session's own method,
the same code a client command runs.  This module is the one place that turns subscription
options into a control message and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import control as ctl
from .engine import StreamPosition
from .hooks import SubscriptionOptions

if TYPE_CHECKING:
    from .node import Node

UserOperation = ctl.Subscribe | ctl.Unsubscribe | ctl.Disconnect | ctl.Refresh


class Users:
    """Runs user operations for one node."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    async def subscribe(
        self,
        user: str,
        channel: str,
        opts: SubscriptionOptions,
        *,
        client: str = "",
        session: str = "",
    ) -> None:
        """Server-side subscribe of the user's connections (a ``subscribe`` push each)."""
        rs = opts.recover_since
        await self._run(
            ctl.Subscribe(
                user=user,
                channel=channel,
                emit_presence=opts.presence,
                emit_join_leave=opts.join_leave,
                expire_at=opts.expire_at,
                position=opts.positioned,
                recover=opts.recoverable,
                channel_info=opts.chan_info,
                client=client,
                data=opts.data,
                recover_since=(rs.offset, rs.epoch) if rs else None,
                session=session,
                push_join_leave=opts.push_join_leave,
            )
        )

    async def unsubscribe(
        self, user: str, channel: str, *, client: str = "", session: str = ""
    ) -> None:
        """Unsubscribe the user's connections from ``channel`` (unsubscribe push 2000)."""
        code, reason = c.UNSUBSCRIBE_SERVER
        await self._run(
            ctl.Unsubscribe(
                channel=channel, user=user, client=client, session=session, code=code, reason=reason
            )
        )

    async def disconnect(
        self,
        user: str,
        d: c.DisconnectCode,
        *,
        client: str = "",
        session: str = "",
        whitelist: list[str] | None = None,
    ) -> None:
        """Disconnect the user's connections with ``d``, except the ``whitelist`` IDs."""
        await self._run(
            ctl.Disconnect(
                user=user,
                code=d.code,
                reason=d.reason,
                whitelist=whitelist or [],
                reconnect=d.reconnect,
                client=client,
                session=session,
            )
        )

    async def refresh(
        self,
        user: str,
        *,
        client: str = "",
        session: str = "",
        expired: bool = False,
        expire_at: int = 0,
        info: bytes | None = None,
    ) -> None:
        """New expiry (0: none) and optionally info for the user's connections (a ``refresh``
        push each); ``expired`` disconnects them with 3005 instead."""
        await self._run(
            ctl.Refresh(
                user=user,
                client=client,
                expired=expired,
                expire_at=expire_at,
                info=info or b"",
                session=session,
            )
        )

    async def _run(self, op: UserOperation) -> None:
        self.apply(op)
        await self.node.cluster.send(op)

    def apply(self, op: UserOperation) -> None:
        """Apply ``op`` to this node's connections (from the API here or another node)."""
        node = self.node
        targets = node.hub.find(op.user, client=op.client, session=op.session)
        if isinstance(op, ctl.Subscribe):
            opts = subscription_options(op)
            for s in targets:
                node.spawn(s.subscribe_server_side(op.channel, opts))
        elif isinstance(op, ctl.Unsubscribe):
            code = op.code or c.UNSUBSCRIBE_SERVER[0]
            reason = op.reason or c.UNSUBSCRIBE_SERVER[1]
            for s in targets:
                node.spawn(s.unsubscribe(op.channel, code, reason, push=True))
        elif isinstance(op, ctl.Disconnect):
            d = c.disconnect_with_default_reason(op.code, op.reason)
            keep = set(op.whitelist)
            for s in targets:
                if s.id not in keep:
                    s.disconnect(d)
        else:
            for s in targets:
                s.refresh_server_side(expired=op.expired, expire_at=op.expire_at, info=op.info)


def subscription_options(op: ctl.Subscribe) -> SubscriptionOptions:
    """The options of a server-side subscription carried by a SUBSCRIBE control message."""
    rs = op.recover_since
    return SubscriptionOptions(
        presence=op.emit_presence,
        join_leave=op.emit_join_leave,
        push_join_leave=op.push_join_leave,
        positioned=op.position or op.recover,
        recoverable=op.recover,
        expire_at=op.expire_at,
        chan_info=op.channel_info,
        data=op.data,
        client_side_refresh=False,
        recover_since=StreamPosition(rs[0], rs[1]) if rs else None,
    )
