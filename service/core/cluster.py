"""The control plane: carries node-to-node messages, keeps the node registry, runs surveys
(docs/redis.md#control-messages).

Messages are Centrifuge ``controlpb`` commands (``service.protocol.control``), so Gyre and
Centrifugo v4 nodes sharing a Redis understand each other; every node ignores its own.  User
operations only pass through here: ``send`` carries them out, ``handle`` hands incoming ones
to ``Users.apply`` (``users.py``).  Surveys ask every live node (or one) and wait for their
answers (10 s by default).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import logging
import time
from typing import TYPE_CHECKING

from ..protocol import control as ctl
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

    async def send(self, params: ctl.Params, node_id: str = "") -> None:
        """Send a control message to every other node (``node_id`` empty) or to one."""
        self.node.metrics.message_sent("control")
        await self.node.broker.publish_control(ctl.encode(self.node.id, params), node_id)

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
                self.node.users.apply(params)
        except Exception:
            log.exception("control message failed")

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
        await self.send(self._info_message())
        now = time.monotonic()
        for uid, ni in list(self.nodes.items()):
            if uid != self.node.id and now - ni.updated > NODE_EXPIRE:
                del self.nodes[uid]

    async def announce_shutdown(self) -> None:
        await self.send(ctl.Shutdown())

    def _node_info(self, n: ctl.NodeInfo) -> None:
        uid = n.uid
        new = uid not in self.nodes
        self.nodes[uid] = node_info_from_message(n, updated=time.monotonic())
        if new:  # introduce ourselves to the newcomer right away (v4 behaviour)
            self.node.spawn(self.send(self._info_message(), uid))

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
                await self.send(req, node_id)
            else:
                await self.send(req)
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
        await self.send(ctl.SurveyResponse(id=req.id, code=code, data=data), requester)

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
