"""The control plane: node registry, user-targeted operations, surveys (spec §12.5).

Messages are Centrifuge ``controlpb`` commands (``service.protocol.control``), so Gyre and
Centrifugo v4 nodes sharing a Redis understand each other.  Server API user operations are
applied on this node and broadcast to the others; every node ignores its own messages.
Surveys ask every live node (or one) and wait for their answers (10 s by default).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import logging
import time
from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import control as ctl
from ..protocol import messages as m
from .client import CONNECTED, ClientSession
from .engine import StreamPosition
from .hooks import SubscriptionOptions
from .node_info import (
    PUBLICATIONS_RECEIVED,
    PUBLICATIONS_SENT,
    NodeInfo,
    node_info_from_message,
    node_info_message,
)

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger("gyre.cluster")

NODE_EXPIRE = 7.0  # peers not heard from for this long are dropped (v4: 7 s)
SURVEY_TIMEOUT = 10.0

OP_CHANNELS = "channels"
OP_EMULATION = "centrifuge_emulation"
SURVEY_OK, SURVEY_INTERNAL, SURVEY_INVALID, SURVEY_NOT_FOUND = 0, 1, 2, 3
EMULATION_SESSION_NOT_FOUND = 2


_PendingSurvey = tuple["asyncio.Future[None]", dict[str, tuple[int, bytes]], int]


class SurveyError(Exception):
    """A survey could not be completed (timeout, engine failure)."""


class Cluster:
    """Node-to-node coordination for one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.nodes: dict[str, NodeInfo] = {}
        self._survey_ids = itertools.count(1)
        self._surveys: dict[
            int, tuple[asyncio.Future[None], dict[str, tuple[int, bytes]], int]
        ] = {}

    # --- sending --------------------------------------------------------------------------

    async def _send(self, params: ctl.Params, node_id: str = "") -> None:
        self.node.metrics.message_sent("control")
        await self.node.broker.publish_control(ctl.encode(self.node.id, params), node_id)

    # --- user operations (server API) -----------------------------------------------------

    async def subscribe_user(
        self, user: str, channel: str, opts: SubscriptionOptions, *, client: str, session: str
    ) -> None:
        msg = ctl.Subscribe(
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
            recover_since=(
                (opts.recover_since.offset, opts.recover_since.epoch)
                if opts.recover_since
                else None
            ),
            session=session,
            push_join_leave=opts.push_join_leave,
        )
        self._apply(msg)
        await self._send(msg)

    async def unsubscribe_user(self, user: str, channel: str, *, client: str, session: str) -> None:
        code, reason = c.UNSUBSCRIBE_SERVER
        msg = ctl.Unsubscribe(
            channel=channel, user=user, client=client, session=session, code=code, reason=reason
        )
        self._apply(msg)
        await self._send(msg)

    async def disconnect_user(
        self,
        user: str,
        d: c.DisconnectCode,
        *,
        client: str,
        session: str,
        whitelist: list[str],
    ) -> None:
        msg = ctl.Disconnect(
            user=user,
            code=d.code,
            reason=d.reason,
            whitelist=whitelist,
            reconnect=d.reconnect,
            client=client,
            session=session,
        )
        self._apply(msg)
        await self._send(msg)

    async def refresh_user(
        self,
        user: str,
        *,
        client: str,
        session: str,
        expired: bool,
        expire_at: int,
        info: bytes | None,
    ) -> None:
        msg = ctl.Refresh(
            user=user,
            client=client,
            expired=expired,
            expire_at=expire_at,
            info=info or b"",
            session=session,
        )
        self._apply(msg)
        await self._send(msg)

    # --- receiving ------------------------------------------------------------------------

    def handle(self, data: bytes) -> None:
        """Entry point for control bytes from the broker (never raises)."""
        try:
            uid, params = ctl.decode(data)
        except Exception as e:
            log.warning("bad control message: %s", e)
            return
        if uid == self.node.id or params is None:
            return
        try:
            if isinstance(params, ctl.NodeInfo):
                self._node_info(params)
            elif isinstance(params, ctl.SurveyRequest):
                self.node.spawn(self._answer_survey(uid, params))
            elif isinstance(params, ctl.SurveyResponse):
                self._survey_answer(uid, params)
            elif isinstance(params, ctl.Shutdown):
                self.nodes.pop(uid, None)
            else:
                self._apply(params)
        except Exception:
            log.exception("control message failed")

    def _targets(self, user: str, client: str, session: str) -> list[ClientSession]:
        out = []
        for cl in self.node.hub.user_connections(user):
            if client and cl.id != client:
                continue
            if session and cl.session_id != session:
                continue
            out.append(cl)
        return out

    def _apply(self, params: ctl.Params) -> None:
        """Apply a user operation to this node's connections."""
        if isinstance(params, ctl.Subscribe):
            rs = params.recover_since
            opts = SubscriptionOptions(
                presence=params.emit_presence,
                join_leave=params.emit_join_leave,
                push_join_leave=params.push_join_leave,
                positioned=params.position or params.recover,
                recoverable=params.recover,
                expire_at=params.expire_at,
                chan_info=params.channel_info,
                data=params.data,
                client_side_refresh=False,
                recover_since=StreamPosition(rs[0], rs[1]) if rs else None,
            )
            for cl in self._targets(params.user, params.client, params.session):
                self.node.spawn(self._server_subscribe(cl, params.channel, opts))
        elif isinstance(params, ctl.Unsubscribe):
            code = params.code or c.UNSUBSCRIBE_SERVER[0]
            reason = params.reason or c.UNSUBSCRIBE_SERVER[1]
            for cl in self._targets(params.user, params.client, params.session):
                self.node.spawn(cl.unsubscribe(params.channel, code, reason, push=True))
        elif isinstance(params, ctl.Disconnect):
            d = c.disconnect_with_default_reason(params.code, params.reason)
            keep = set(params.whitelist)
            for cl in self._targets(params.user, params.client, params.session):
                if cl.id not in keep:
                    cl.disconnect(d)
        elif isinstance(params, ctl.Refresh):
            for cl in self._targets(params.user, params.client, params.session):
                self._refresh(cl, params)

    async def _server_subscribe(
        self, client: ClientSession, channel: str, opts: SubscriptionOptions
    ) -> None:
        from .commands.subscribe import subscribe_channel

        if client.state != CONNECTED or channel in client.subs:
            return
        limit = self.node.config.client_channel_limit
        if limit > 0 and len(client.subs) >= limit:
            client.disconnect(c.DISCONNECT_CHANNEL_LIMIT)
            return
        try:
            sub, result = await subscribe_channel(
                client, channel, opts, server_side=True, recover_since=opts.recover_since
            )
        except c.ReplyError:
            client.disconnect(c.DISCONNECT_SERVER_ERROR)
            return
        except c.DisconnectError as e:  # e.g. binary data for a JSON client (3506)
            client.disconnect(e.disconnect)
            return
        if client.state != CONNECTED:
            return
        client.write_push(
            m.Push(
                channel=channel,
                subscribe=m.Subscribe(
                    recoverable=result.recoverable,
                    epoch=result.epoch,
                    offset=result.offset,
                    positioned=result.positioned,
                    data=result.data,
                ),
            )
        )
        client.activate(sub)
        client.schedule_sub_expiry_check(sub)

    def _refresh(self, client: ClientSession, params: ctl.Refresh) -> None:
        from .commands.subscribe import ttl_of

        if params.expired:
            client.disconnect(c.DISCONNECT_EXPIRED)
            return
        if params.info:
            client.info = params.info
        client.expire_at = params.expire_at
        expires = params.expire_at > 0
        refresh = m.Refresh(expires=expires, ttl=ttl_of(params.expire_at) if expires else 0)
        client.write_push(m.Push(refresh=refresh))
        client.schedule_expiry_check()

    # --- node registry --------------------------------------------------------------------

    def self_info(self) -> NodeInfo:
        node = self.node
        hub = node.hub
        uptime = time.time() - node.started_at
        return NodeInfo(
            uid=node.id,
            name=node.name,
            version=node.version,
            num_clients=len(hub.conns),
            num_users=hub.num_users(),
            num_channels=len(hub.channels),
            num_subs=hub.num_subscriptions(),
            uptime=int(uptime),
            updated=time.monotonic(),
            process=node.process.sample(),
            metrics_interval=round(uptime, 3),
            metrics={
                PUBLICATIONS_SENT: float(node.num_published),
                PUBLICATIONS_RECEIVED: float(node.num_received),
            },
        )

    def _info_message(self) -> ctl.NodeInfo:
        return node_info_message(self.self_info())

    async def publish_node_info(self) -> None:
        """Announce this node (every ``node_info_interval``) and drop silent peers."""
        self.nodes[self.node.id] = self.self_info()
        await self._send(self._info_message())
        now = time.monotonic()
        for uid, ni in list(self.nodes.items()):
            if uid != self.node.id and now - ni.updated > NODE_EXPIRE:
                del self.nodes[uid]

    async def announce_shutdown(self) -> None:
        await self._send(ctl.Shutdown())

    def _node_info(self, n: ctl.NodeInfo) -> None:
        uid = n.uid
        new = uid not in self.nodes
        self.nodes[uid] = node_info_from_message(n, updated=time.monotonic())
        if new:  # introduce ourselves to the newcomer right away (v4 behaviour)
            self.node.spawn(self._send(self._info_message(), uid))

    def live_nodes(self) -> list[NodeInfo]:
        """This node (fresh numbers) first, then peers heard from within NODE_EXPIRE."""
        me = self.self_info()
        self.nodes[me.uid] = me
        now = time.monotonic()
        others = [
            n for uid, n in self.nodes.items() if uid != me.uid and now - n.updated <= NODE_EXPIRE
        ]
        return [me, *others]

    def is_live(self, node_id: str) -> bool:
        n = self.nodes.get(node_id)
        return n is not None and (
            node_id == self.node.id or time.monotonic() - n.updated <= NODE_EXPIRE
        )

    # --- surveys --------------------------------------------------------------------------

    async def survey(
        self, op: str, data: bytes, node_id: str = "", timeout: float = SURVEY_TIMEOUT
    ) -> dict[str, tuple[int, bytes]]:
        """Ask every live node (or ``node_id``) and return {node: (code, data)}.

        This node answers locally.  Raises SurveyError on timeout.
        """
        targets = [node_id] if node_id else [n.uid for n in self.live_nodes()]
        results: dict[str, tuple[int, bytes]] = {}
        if self.node.id in targets:
            results[self.node.id] = await self._handle_survey(op, data)
        remote = [t for t in targets if t != self.node.id]
        if not remote:
            return results
        started = time.perf_counter()
        sid = next(self._survey_ids)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._surveys[sid] = (fut, results, len(results) + len(remote))
        try:
            req = ctl.SurveyRequest(id=sid, op=op, data=data)
            if node_id:
                await self._send(req, node_id)
            else:
                await self._send(req)
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise SurveyError(f"survey {op} timed out") from None
        finally:
            self._surveys.pop(sid, None)
            self.node.metrics.observe_survey(op, time.perf_counter() - started)
        return results

    def pending_surveys(self) -> int:
        return len(self._surveys)

    def _survey_answer(self, uid: str, resp: ctl.SurveyResponse) -> None:
        entry = self._surveys.get(resp.id)
        if entry is None:
            return
        fut, results, expected = entry
        results[uid] = (resp.code, resp.data)
        if len(results) >= expected and not fut.done():
            fut.set_result(None)

    async def _answer_survey(self, requester: str, req: ctl.SurveyRequest) -> None:
        code, data = await self._handle_survey(req.op, req.data)
        await self._send(ctl.SurveyResponse(id=req.id, code=code, data=data), requester)

    async def _handle_survey(self, op: str, data: bytes) -> tuple[int, bytes]:
        try:
            if op == OP_CHANNELS:
                pattern = ctl.decode_channels_request(data)
                return SURVEY_OK, ctl.encode_channels_result(self.local_channels(pattern))
            if op == OP_EMULATION:
                session, payload = ctl.decode_emulation_request(data)
                found = await self.node.handle_emulation(session, payload)
                return (SURVEY_OK if found else EMULATION_SESSION_NOT_FOUND), b""
        except Exception:
            log.exception("survey %s failed", op)
            return SURVEY_INTERNAL, b""
        return SURVEY_NOT_FOUND, b""

    # --- introspection --------------------------------------------------------------------

    def local_channels(self, pattern: str = "") -> dict[str, int]:
        out: dict[str, int] = {}
        for ch, subs in self.node.hub.channels.items():
            if pattern and not fnmatch.fnmatchcase(ch, pattern):
                continue
            out[ch] = len(subs)
        return out

    async def channels(self, pattern: str = "") -> dict[str, int]:
        """Channels with subscribers on any node, summing subscriber counts."""
        if len(self.live_nodes()) == 1:
            return self.local_channels(pattern)
        results = await self.survey(OP_CHANNELS, ctl.encode_channels_request(pattern))
        total: dict[str, int] = {}
        for code, data in results.values():
            if code != SURVEY_OK:
                continue
            for ch, n in ctl.decode_channels_result(data).items():
                total[ch] = total.get(ch, 0) + n
        return total
