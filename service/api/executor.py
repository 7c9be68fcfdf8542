"""One transport-agnostic server API executor (spec §8.5).

HTTP (``http.py``) and gRPC (``grpc.py``) decode their requests into the Structs of
``messages.py`` and call ``Executor.call``; domain errors come back as ``ApiError`` results
(never as transport errors), exactly as in Centrifugo v4.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from ..core.engine import EngineError, PublishOptions, StreamPosition
from ..core.hooks import ApiPolicy
from ..core.node import Node
from ..core.wire import info_json_ok, publication_json_ok, wire_publication
from ..protocol import codes as c
from ..protocol.messages import raw
from . import messages as a

log = logging.getLogger("gyre.api")


@dataclass(frozen=True, slots=True)
class Method:
    """One API method.  A ``binary_aware`` handler takes ``binary=`` too: True when the
    caller encodes the result as protobuf, so payloads that are not JSON may be returned."""

    name: str
    request: type[msgspec.Struct]
    handler: Callable[..., Awaitable[msgspec.Struct]]
    binary_aware: bool = False


# v4 Command.MethodType numbers (spec §8.4); 13 unused, 14..31 PRO-only.
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


def _data(data: msgspec.Raw | bytes, b64data: str) -> bytes:
    if b64data:
        try:
            return base64.b64decode(b64data, validate=True)
        except (binascii.Error, ValueError):
            raise c.ReplyError(c.ERROR_BAD_REQUEST) from None
    out = bytes(data)
    return b"" if out == b"null" else out


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


_NO_HISTORY = PublishOptions()

NO_POSITION = a.PublishResult()
"""The result of a publish that keeps no history (shared: callers must not mutate it)."""

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


def _api_error(method: str, e: Exception) -> a.Error:
    """The ``Error`` an API call answers for ``e``: a ``ReplyError``'s own code, else 100
    (internal), logged (an ``EngineError`` as a warning, anything else with its traceback)."""
    if isinstance(e, c.ReplyError):
        return a.Error(code=e.error.code, message=e.error.message)
    if isinstance(e, EngineError):
        log.warning("api %s failed: %s", method, e)
    else:
        log.error("api %s failed", method, exc_info=e)
    return a.Error(code=c.ERROR_INTERNAL.code, message=c.ERROR_INTERNAL.message)


def _not_json(channel: str, what: str) -> c.ReplyError:
    """Error 100 for a JSON answer that would have to carry a payload that is not JSON."""
    log.warning(
        "api: %s in channel %r is not JSON (published as binary): use the gRPC API to read it",
        what,
        channel,
    )
    return c.ReplyError(c.ERROR_INTERNAL)


def _publish_result(sp: StreamPosition | None) -> a.PublishResult:
    """What a publish answers: its position, or the shared ``NO_POSITION`` without history."""
    if sp is None:
        return NO_POSITION
    return a.PublishResult(offset=sp.offset, epoch=sp.epoch)


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
            "publish": Method("publish", a.PublishRequest, self.publish),
            "broadcast": Method("broadcast", a.BroadcastRequest, self.broadcast),
            "subscribe": Method("subscribe", a.SubscribeRequest, self.subscribe),
            "unsubscribe": Method("unsubscribe", a.UnsubscribeRequest, self.unsubscribe),
            "disconnect": Method("disconnect", a.DisconnectRequest, self.disconnect),
            "presence": Method("presence", a.PresenceRequest, self.presence, True),
            "presence_stats": Method("presence_stats", a.PresenceStatsRequest, self.presence_stats),
            "history": Method("history", a.HistoryRequest, self.history, True),
            "history_remove": Method("history_remove", a.HistoryRemoveRequest, self.history_remove),
            "channels": Method("channels", a.ChannelsRequest, self.channels),
            "info": Method("info", a.InfoRequest, self.info),
            "rpc": Method("rpc", a.RPCRequest, self.rpc),
            "refresh": Method("refresh", a.RefreshRequest, self.refresh),
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
            return _api_error(method, e)
        finally:
            if self.observe is not None:
                self.observe(protocol, method, time.perf_counter() - started)

    # --- publishing -----------------------------------------------------------------------

    async def _publish_checked(
        self, channel: str, data: bytes, skip_history: bool, tags: Mapping[str, str]
    ) -> a.PublishResult:
        """One publish of decoded ``data`` (see ``_data``): 107 without channel or data, 102
        for an unknown namespace, both before anything is published."""
        if not channel or not data:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        caps = self.policy.api_channel(channel)
        opts = _NO_HISTORY if skip_history else caps.publish
        sp = await self.node.publish(channel, data, opts=opts, tags=dict(tags) if tags else None)
        return _publish_result(sp)

    async def publish_fields(
        self,
        channel: str,
        data: bytes,
        b64data: str,
        skip_history: bool,
        tags: Mapping[str, str],
        protocol: str = "grpc",
    ) -> a.PublishResult | a.Error:
        """``call("publish", PublishRequest(...), protocol)`` from the request's fields.

        The same checks, errors, result and ``observe`` as ``call``, without building the
        request Struct: the gRPC Batch runs this once per publish command.  A publication
        that keeps no history answers the shared ``NO_POSITION`` (never mutate it).
        """
        observe = self.observe
        started = time.perf_counter() if observe is not None else 0.0
        try:
            if b64data or data == b"null":
                data = _data(data, b64data)
            return await self._publish_checked(channel, data, skip_history, tags)
        except Exception as e:
            return _api_error("publish", e)
        finally:
            if observe is not None:
                observe(protocol, "publish", time.perf_counter() - started)

    async def publish_many(
        self, channel: str, datas: Sequence[bytes], protocol: str = "grpc"
    ) -> list[a.PublishResult | a.Error]:
        """``publish_fields(channel, data, "", False, {}, protocol)`` for each of ``datas``,
        in order, with one policy check and one broker call for all of them.

        ``datas`` must be plain payloads: non-empty, not ``null`` (no b64 decoding applies).
        One result per data, as ``publish_fields`` would answer it; ``observe`` sees one
        command per data, each with an equal share of the time taken.
        """
        observe = self.observe
        started = time.perf_counter() if observe is not None else 0.0
        out: list[a.PublishResult | a.Error]
        try:
            if not channel:
                raise c.ReplyError(c.ERROR_BAD_REQUEST)
            caps = self.policy.api_channel(channel)
            positions = await self.node.publish_many(channel, datas, opts=caps.publish)
        except Exception as e:
            out = [_api_error("publish", e)] * len(datas)
        else:
            out = [
                _api_error("publish", sp) if isinstance(sp, Exception) else _publish_result(sp)
                for sp in positions
            ]
        if observe is not None and datas:
            observe(protocol, "publish", (time.perf_counter() - started) / len(datas), len(datas))
        return out

    async def publish(self, req: a.PublishRequest) -> a.PublishResult:
        data = _data(req.data, req.b64data)
        return await self._publish_checked(req.channel, data, req.skip_history, req.tags)

    async def broadcast(self, req: a.BroadcastRequest) -> a.BroadcastResult:
        if not req.channels:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        data = _data(req.data, req.b64data)
        if not data:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        responses: list[a.PublishResponse] = []
        for ch in req.channels:
            try:
                res = await self._publish_checked(ch, data, req.skip_history, req.tags)
                responses.append(a.PublishResponse(result=res))
            except c.ReplyError as e:
                responses.append(
                    a.PublishResponse(error=a.Error(code=e.error.code, message=e.error.message))
                )
            except EngineError:
                err = c.ERROR_INTERNAL
                responses.append(
                    a.PublishResponse(error=a.Error(code=err.code, message=err.message))
                )
        return a.BroadcastResult(responses=responses)

    # --- user operations ------------------------------------------------------------------

    async def subscribe(self, req: a.SubscribeRequest) -> a.SubscribeResult:
        self.policy.api_channel(req.channel)
        opts = self.policy.server_subscription(req.channel, _override(req.override))
        opts.expire_at = req.expire_at
        opts.chan_info = _data(req.info, req.b64info)
        opts.data = _data(req.data, req.b64data)
        if req.recover_since is not None:
            opts.recover_since = StreamPosition(req.recover_since.offset, req.recover_since.epoch)
        await self.node.subscribe_user(
            req.user, req.channel, opts, client=req.client, session=req.session
        )
        return a.SubscribeResult()

    async def unsubscribe(self, req: a.UnsubscribeRequest) -> a.UnsubscribeResult:
        self.policy.api_channel(req.channel)
        await self.node.unsubscribe_user(
            req.user, req.channel, client=req.client, session=req.session
        )
        return a.UnsubscribeResult()

    async def disconnect(self, req: a.DisconnectRequest) -> a.DisconnectResult:
        d = c.DISCONNECT_FORCE_NO_RECONNECT
        if req.disconnect is not None and req.disconnect.code:
            d = c.disconnect_with_default_reason(req.disconnect.code, req.disconnect.reason)
        await self.node.disconnect_user(
            req.user, d, client=req.client, session=req.session, whitelist=req.whitelist
        )
        return a.DisconnectResult()

    async def refresh(self, req: a.RefreshRequest) -> a.RefreshResult:
        info = bytes(req.info)
        await self.node.refresh_user(
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
        return a.PresenceResult(
            presence={
                cid: a.ClientInfo(
                    user=i.user,
                    client=i.client,
                    conn_info=raw(i.conn_info),
                    chan_info=raw(i.chan_info),
                )
                for cid, i in presence.items()
            }
        )

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
        out = []
        for p in pubs:
            wp = wire_publication(p)
            info = None
            if wp.info is not None:
                info = a.ClientInfo(
                    user=wp.info.user,
                    client=wp.info.client,
                    conn_info=wp.info.conn_info,
                    chan_info=wp.info.chan_info,
                )
            out.append(a.Publication(data=wp.data, info=info, offset=wp.offset, tags=wp.tags))
        return a.HistoryResult(publications=out, epoch=top.epoch, offset=top.offset)

    async def history_remove(self, req: a.HistoryRemoveRequest) -> a.HistoryRemoveResult:
        self._history_channel(req.channel)
        await self.node.broker.remove_history(req.channel)
        return a.HistoryRemoveResult()

    # --- introspection --------------------------------------------------------------------

    async def channels(self, req: a.ChannelsRequest) -> a.ChannelsResult:
        counts = await self.node.cluster_channels(req.pattern)
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
                for n in self.node.info()
            ]
        )

    async def rpc(self, req: a.RPCRequest) -> a.RPCResult:
        if not req.method:
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        raise c.ReplyError(c.ERROR_METHOD_NOT_FOUND)
