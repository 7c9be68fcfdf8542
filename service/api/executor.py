"""One transport-agnostic server API executor (docs/server_api.md#methods).

HTTP (``http.py``) and gRPC (``grpc.py``) decode their requests into the Structs of
``messages.py`` and call ``Executor.call``; domain errors come back as ``ApiError`` results
(never as transport errors), exactly as in Centrifugo v4.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from ..core.engine import StreamPosition
from ..core.hooks import ApiPolicy
from ..core.node import Node
from ..core.wire import info_json_ok, publication_json_ok, wire_history, wire_presence
from ..protocol import codes as c
from . import messages as a
from .publishing import (
    NO_POSITION,
    NO_POSITION_RESPONSE,
    PublishFields,
    api_error,
    broadcast_items,
    payload,
    publish_item,
    publish_items,
)

log = logging.getLogger("gyre.api")


@dataclass(frozen=True, slots=True)
class Method:
    """One API method.  A ``binary_aware`` handler takes ``binary=`` too: True when the
    caller encodes the result as protobuf, so payloads that are not JSON may be returned."""

    name: str
    request: type[msgspec.Struct]
    handler: Callable[..., Awaitable[msgspec.Struct]]
    binary_aware: bool = False


# v4 Command.MethodType numbers (proto/centrifugal/centrifugo/api/api.proto); 13 unused, 14..31
# PRO-only.
METHOD_NUMBERS = {
    0: "publish",
    1: "broadcast",
    2: "unsubscribe",
    3: "disconnect",
    4: "presence",
    5: "presence_stats",
    6: "history",
    7: "history_remove",
    8: "channels",
    9: "info",
    10: "rpc",
    11: "subscribe",
    12: "refresh",
}
PRO_METHODS = {
    14: "connections",
    15: "update_user_status",
    16: "get_user_status",
    17: "delete_user_status",
    18: "block_user",
    19: "unblock_user",
    20: "revoke_token",
    21: "invalidate_user_tokens",
    22: "device_register",
    23: "device_update",
    24: "device_remove",
    25: "device_list",
    26: "device_topic_list",
    27: "device_topic_update",
    28: "user_topic_list",
    29: "user_topic_update",
    30: "send_push_notification",
    31: "update_push_status",
}


def _override(o: a.SubscribeOptionOverride | None) -> dict[str, bool]:
    if o is None:
        return {}
    out: dict[str, bool] = {}
    for name in (
        "presence",
        "join_leave",
        "force_push_join_leave",
        "force_recovery",
        "force_positioning",
    ):
        value = getattr(o, name)
        if value is not None:
            out[name] = value.value
    return out


BATCH_SLICE = 64
"""A batch yields to the event loop after this many commands (see ``batch_turn``): about
0.15 ms of gRPC publishing, so other connections wait little while every yield (one loop
iteration) stays rare next to the work between them."""


async def batch_turn(index: int) -> None:
    """Before batch command ``index``: after every full ``BATCH_SLICE`` commands, let other
    work run (never before the first command, so a batch of at most ``BATCH_SLICE``
    commands runs at once, and its publications leave in one frame per subscriber).

    Commands of one batch still run in order; a batch of thousands of commands no longer
    holds the loop for its whole length, so pings, other clients and the deliveries of the
    batch's own publications (a gRPC stream write waits for its completion) go on meanwhile.
    """
    if index and not index % BATCH_SLICE:
        await asyncio.sleep(0)


def _not_json(channel: str, what: str) -> c.ReplyError:
    """Error 100 for a JSON answer that would have to carry a payload that is not JSON."""
    log.warning(
        "api: %s in channel %r is not JSON (published as binary): use the gRPC API to read it",
        what,
        channel,
    )
    return c.ReplyError(c.ERROR_INTERNAL)


HANDLERS: dict[str, tuple[type[msgspec.Struct], str, bool]] = {
    "publish": (a.PublishRequest, "publish_request", False),
    "broadcast": (a.BroadcastRequest, "broadcast", False),
    "subscribe": (a.SubscribeRequest, "subscribe", False),
    "unsubscribe": (a.UnsubscribeRequest, "unsubscribe", False),
    "disconnect": (a.DisconnectRequest, "disconnect", False),
    "presence": (a.PresenceRequest, "presence", True),
    "presence_stats": (a.PresenceStatsRequest, "presence_stats", False),
    "history": (a.HistoryRequest, "history", True),
    "history_remove": (a.HistoryRemoveRequest, "history_remove", False),
    "channels": (a.ChannelsRequest, "channels", False),
    "info": (a.InfoRequest, "info", False),
    "rpc": (a.RPCRequest, "rpc", False),
    "refresh": (a.RefreshRequest, "refresh", False),
}
"""Method name -> (request Struct, the ``Executor`` handler's name, binary aware): the one
table of the API's methods (``Executor.methods``, the OpenAPI document)."""


class ApiObserver(Protocol):
    """Receives API command durations (``centrifugo_api_command_duration_seconds``)."""

    def __call__(self, protocol: str, method: str, seconds: float, count: int = 1) -> None:
        """``count`` ``method`` commands over ``protocol``, each taking ``seconds``."""


class Executor:
    """Runs server API methods against a node with the policy's channel rules."""

    def __init__(
        self,
        node: Node,
        policy: ApiPolicy,
        *,
        observe: ApiObserver | None = None,
    ) -> None:
        self.node = node
        self.policy = policy
        # (protocol, method, seconds) per call: centrifugo_api_command_duration_seconds
        self.observe = observe
        self.methods: dict[str, Method] = {
            name: Method(name, req, getattr(self, attr), binary)
            for name, (req, attr, binary) in HANDLERS.items()
        }

    async def call(
        self, method: str, req: msgspec.Struct, protocol: str = "http"
    ) -> msgspec.Struct | a.Error:
        """Run ``method``; returns its result Struct or an ``Error`` (never raises).

        ``protocol`` (``http`` / ``grpc``) labels the duration given to ``observe``; ``grpc``
        also means the caller encodes the result as protobuf: anything else is JSON, and a
        stored payload that is not JSON (binary published by a Protobuf client or with
        ``b64data``) is then never put raw into the result (error 100, logged).
        """
        m = self.methods.get(method)
        if m is None:
            return a.Error(
                code=c.ERROR_METHOD_NOT_FOUND.code, message=c.ERROR_METHOD_NOT_FOUND.message
            )
        started = time.perf_counter()
        try:
            if m.binary_aware:
                return await m.handler(req, binary=protocol == "grpc")
            return await m.handler(req)
        except Exception as e:
            return api_error(method, e)
        finally:
            if self.observe is not None:
                self.observe(protocol, method, time.perf_counter() - started)

    # --- publishing -----------------------------------------------------------------------

    async def publish(
        self, reqs: Sequence[PublishFields], protocol: str = "http"
    ) -> list[a.PublishResult | a.Error]:
        """The one publish entry (HTTP ``publish``, gRPC ``Publish`` and gRPC ``Batch``): one
        result per request, in order, exactly what consecutive single publishes would answer
        (docs/server_api.md#methods).  Consecutive requests into the same channel with the same
        history options go to the node as ONE call (one policy check, one broker call, one hub
        pass; each publication still gets its own offset).  ``observe`` sees one ``publish``
        command per request, each with an equal share of the time.  A publication that keeps
        no history answers the shared ``NO_POSITION`` (never mutate it)."""
        observe = self.observe
        started = time.perf_counter() if observe is not None else 0.0
        out = await self._publish(reqs)
        if observe is not None and reqs:
            observe(protocol, "publish", (time.perf_counter() - started) / len(reqs), len(reqs))
        return out

    async def _publish(self, reqs: Sequence[PublishFields]) -> list[a.PublishResult | a.Error]:
        return await publish_items(self.node, [publish_item(self.policy, req) for req in reqs])

    async def publish_request(self, req: a.PublishRequest) -> a.PublishResult:
        """``publish`` of one decoded request (the ``publish`` method of ``call``)."""
        [res] = await self._publish((req,))
        if isinstance(res, a.Error):  # already logged when internal
            raise c.ReplyError(c.ErrorCode(res.code, res.message))
        return res

    async def broadcast(self, req: a.BroadcastRequest) -> a.BroadcastResult:
        results = await publish_items(self.node, broadcast_items(self.policy, req))
        return a.BroadcastResult(
            responses=[
                NO_POSITION_RESPONSE
                if r is NO_POSITION
                else a.PublishResponse(error=r)
                if isinstance(r, a.Error)
                else a.PublishResponse(result=r)
                for r in results
            ]
        )

    # --- user operations ------------------------------------------------------------------

    async def subscribe(self, req: a.SubscribeRequest) -> a.SubscribeResult:
        self.policy.api_channel(req.channel)
        opts = self.policy.server_subscription(req.channel, _override(req.override))
        opts.expire_at = req.expire_at
        opts.chan_info = payload(req.info, req.b64info)
        opts.data = payload(req.data, req.b64data)
        if req.recover_since is not None:
            opts.recover_since = StreamPosition(req.recover_since.offset, req.recover_since.epoch)
        await self.node.users.subscribe(
            req.user, req.channel, opts, client=req.client, session=req.session
        )
        return a.SubscribeResult()

    async def unsubscribe(self, req: a.UnsubscribeRequest) -> a.UnsubscribeResult:
        self.policy.api_channel(req.channel)
        await self.node.users.unsubscribe(
            req.user, req.channel, client=req.client, session=req.session
        )
        return a.UnsubscribeResult()

    async def disconnect(self, req: a.DisconnectRequest) -> a.DisconnectResult:
        d = c.DISCONNECT_FORCE_NO_RECONNECT
        if req.disconnect is not None and req.disconnect.code:
            d = c.disconnect_with_default_reason(req.disconnect.code, req.disconnect.reason)
        await self.node.users.disconnect(
            req.user, d, client=req.client, session=req.session, whitelist=req.whitelist
        )
        return a.DisconnectResult()

    async def refresh(self, req: a.RefreshRequest) -> a.RefreshResult:
        info = bytes(req.info)
        await self.node.users.refresh(
            req.user,
            client=req.client,
            session=req.session,
            expired=req.expired,
            expire_at=req.expire_at,
            info=info if info and info != b"null" else None,
        )
        return a.RefreshResult()

    # --- presence and history -------------------------------------------------------------

    def _presence_channel(self, channel: str) -> None:
        if not self.policy.api_channel(channel).presence:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)

    async def presence(self, req: a.PresenceRequest, *, binary: bool = False) -> a.PresenceResult:
        self._presence_channel(req.channel)
        presence = await self.node.presence.presence(req.channel)
        if not binary and not all(map(info_json_ok, presence.values())):
            raise _not_json(req.channel, "presence info")
        return wire_presence(presence)

    async def presence_stats(self, req: a.PresenceStatsRequest) -> a.PresenceStatsResult:
        self._presence_channel(req.channel)
        num_clients, num_users = await self.node.presence.presence_stats(req.channel)
        return a.PresenceStatsResult(num_clients=num_clients, num_users=num_users)

    def _history_channel(self, channel: str) -> None:
        if not self.policy.api_channel(channel).history:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)

    async def history(self, req: a.HistoryRequest, *, binary: bool = False) -> a.HistoryResult:
        self._history_channel(req.channel)
        since = None
        if req.since is not None:
            since = StreamPosition(req.since.offset, req.since.epoch)
            if req.reverse and since.offset == 0:
                raise c.ReplyError(c.ERROR_INTERNAL)
        pubs, top = await self.node.history(
            req.channel, limit=req.limit, since=since, reverse=req.reverse
        )
        if not binary and not all(map(publication_json_ok, pubs)):
            raise _not_json(req.channel, "a publication")
        return wire_history(pubs, top)

    async def history_remove(self, req: a.HistoryRemoveRequest) -> a.HistoryRemoveResult:
        self._history_channel(req.channel)
        await self.node.broker.remove_history(req.channel)
        return a.HistoryRemoveResult()

    # --- introspection --------------------------------------------------------------------

    async def channels(self, req: a.ChannelsRequest) -> a.ChannelsResult:
        counts = await self.node.cluster.channels(req.pattern)
        return a.ChannelsResult(
            channels={ch: a.ChannelInfo(num_clients=n) for ch, n in counts.items()}
        )

    async def info(self, req: a.InfoRequest) -> a.InfoResult:
        """Every live node; ``process`` and ``metrics`` where the node reported them (Gyre
        nodes do, see ``core/node_info.py``)."""
        return a.InfoResult(
            nodes=[
                a.NodeResult(
                    uid=n.uid,
                    name=n.name,
                    version=n.version,
                    num_clients=n.num_clients,
                    num_users=n.num_users,
                    num_channels=n.num_channels,
                    uptime=n.uptime,
                    num_subs=n.num_subs,
                    process=(
                        None
                        if n.process is None
                        else a.Process(cpu=n.process.cpu, rss=n.process.rss)
                    ),
                    metrics=(
                        a.Metrics(interval=n.metrics_interval, items=n.metrics)
                        if n.metrics
                        else None
                    ),
                )
                for n in self.node.cluster.live_nodes()
            ]
        )

    async def rpc(self, req: a.RPCRequest) -> a.RPCResult:
        if not req.method:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        raise c.ReplyError(c.ERROR_METHOD_NOT_FOUND)
