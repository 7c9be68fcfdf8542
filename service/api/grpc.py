"""gRPC server API ``centrifugal.centrifugo.api.CentrifugoApi`` (docs/server_api.md).

A thin adapter over the shared ``Executor``: each OSS method converts its request to the API
Struct (``pb_to_struct``), calls ``Executor.call`` and copies the result or the domain error
into ``XResponse.result`` / ``XResponse.error`` (status OK, as v4).  PRO-only methods answer
gRPC ``UNIMPLEMENTED`` like v4 OSS.

Auth (v4): with an API key configured every call needs the metadata
``authorization: apikey <key>`` (exact value); otherwise the call fails with
``UNAUTHENTICATED`` "unauthenticated" before anything runs.  Bytes that do not decode as
the request message get ``INTERNAL`` "grpc: error unmarshalling request" (grpc-go's answer)
after that check, never a logged traceback.

``Batch`` runs ``BatchRequest.commands`` in order: the first typed request field of each
``Command`` (``publish`` (4) ... ``channels`` (16)) selects the method and the result goes into
the ``Reply`` field of the same name; a Command with only ``method`` + JSON ``params`` (the v4
HTTP envelope) is accepted too, its result then is the raw JSON ``Reply.result``.  Unknown or
PRO-only commands get error 104.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import msgspec
from centrifugal.centrifugo.api import api_pb2
from google.protobuf.message import DecodeError

from ..protocol import codes as c
from ..protocol.pb_convert import pb_to_struct, struct_to_pb
from . import messages as a
from .credentials import secret_equal
from .executor import BATCH_SLICE, METHOD_NUMBERS, PRO_METHODS, Executor
from .publishing import NO_POSITION

log = logging.getLogger("gyre.api.grpc")

SERVICE_NAME = "centrifugal.centrifugo.api.CentrifugoApi"

_json = msgspec.json.Encoder()
_ERR_NOT_FOUND = a.Error(
    code=c.ERROR_METHOD_NOT_FOUND.code, message=c.ERROR_METHOD_NOT_FOUND.message
)
_ERR_BAD_REQUEST = a.Error(code=c.ERROR_BAD_REQUEST.code, message=c.ERROR_BAD_REQUEST.message)
_FIRST_TYPED_FIELD = 4  # Command.publish; 1-3 are id/method/params


def _pro_only(name: str) -> Callable[[CentrifugoApiService, Any, Any], Awaitable[None]]:
    async def method(self: CentrifugoApiService, request: Any, context: Any) -> None:
        await self._authorize(context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"method {name} not implemented")

    method.__name__ = name
    return method


class CentrifugoApiService:
    """Servicer of ``CentrifugoApi``; ``add_to_server`` registers it on a grpc.aio server."""

    def __init__(
        self,
        executor: Executor,
        *,
        api_key: str = "",
    ) -> None:
        self.executor = executor
        self.api_key = api_key

    def add_to_server(self, server: Any) -> None:
        """Register every method of the service, as the generated ``add_..._to_server``
        does."""
        handlers: dict[str, Any] = {}
        for method in api_pb2.DESCRIPTOR.services_by_name["CentrifugoApi"].methods:
            request_cls = getattr(api_pb2, method.input_type.name)
            response_cls = getattr(api_pb2, method.output_type.name)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                self._decoded(getattr(self, method.name)),
                request_deserializer=_lenient(request_cls),
                response_serializer=response_cls.SerializeToString,
            )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),)
        )
        server.add_registered_method_handlers(SERVICE_NAME, handlers)

    # --- OSS methods: one call each into the shared executor --------------------------------

    async def Publish(self, request: Any, context: Any) -> Any:
        await self._authorize(context)
        [res] = await self.executor.publish((request,), "grpc")
        out = api_pb2.PublishResponse()
        _fill(out, res)
        return out

    async def Broadcast(self, request: Any, context: Any) -> Any:
        return await self._call("broadcast", request, context, api_pb2.BroadcastResponse)

    async def Subscribe(self, request: Any, context: Any) -> Any:
        return await self._call("subscribe", request, context, api_pb2.SubscribeResponse)

    async def Unsubscribe(self, request: Any, context: Any) -> Any:
        return await self._call("unsubscribe", request, context, api_pb2.UnsubscribeResponse)

    async def Disconnect(self, request: Any, context: Any) -> Any:
        return await self._call("disconnect", request, context, api_pb2.DisconnectResponse)

    async def Presence(self, request: Any, context: Any) -> Any:
        return await self._call("presence", request, context, api_pb2.PresenceResponse)

    async def PresenceStats(self, request: Any, context: Any) -> Any:
        return await self._call("presence_stats", request, context, api_pb2.PresenceStatsResponse)

    async def History(self, request: Any, context: Any) -> Any:
        return await self._call("history", request, context, api_pb2.HistoryResponse)

    async def HistoryRemove(self, request: Any, context: Any) -> Any:
        return await self._call("history_remove", request, context, api_pb2.HistoryRemoveResponse)

    async def Info(self, request: Any, context: Any) -> Any:
        return await self._call("info", request, context, api_pb2.InfoResponse)

    async def RPC(self, request: Any, context: Any) -> Any:
        return await self._call("rpc", request, context, api_pb2.RPCResponse)

    async def Refresh(self, request: Any, context: Any) -> Any:
        return await self._call("refresh", request, context, api_pb2.RefreshResponse)

    async def Channels(self, request: Any, context: Any) -> Any:
        return await self._call("channels", request, context, api_pb2.ChannelsResponse)

    async def Batch(self, request: Any, context: Any) -> Any:
        """One ``BatchResponse.replies`` entry per command, in order.  Every ``BATCH_SLICE``
        commands the loop lets other work run (as ``batch_turn``)."""
        await self._authorize(context)
        out = api_pb2.BatchResponse()
        commands = request.commands
        for start in range(0, len(commands), BATCH_SLICE):
            if start:
                await asyncio.sleep(0)
            await self._batch_slice(commands[start : start + BATCH_SLICE], out.replies)
        return out

    async def _batch_slice(self, commands: Any, replies: Any) -> None:
        """Answer ``commands`` in order into ``replies``.  A run of consecutive publish
        commands goes to ``Executor.publish`` as one call (which publishes each run into one
        channel as one broker call)."""
        run: list[Any] = []
        for cmd in commands:
            # publish (4) is the first typed field, so when set it selects the method
            if cmd.HasField("publish"):
                run.append(cmd)
                continue
            if run:
                await self._publish_run(run, replies)
                run = []
            await self._batch_command(cmd, replies.add())
        if run:
            await self._publish_run(run, replies)

    async def _publish_run(self, commands: list[Any], replies: Any) -> None:
        results = await self.executor.publish([cmd.publish for cmd in commands], "grpc")
        for cmd, res in zip(commands, results, strict=True):
            reply = replies.add()
            if cmd.id:
                reply.id = cmd.id
            if res is NO_POSITION:  # no history: the empty result, present
                reply.publish.SetInParent()
            elif isinstance(res, a.Error):
                struct_to_pb(res, reply.error)
            else:
                result = reply.publish
                result.offset = res.offset
                result.epoch = res.epoch

    # --- PRO-only methods: UNIMPLEMENTED as in v4 OSS ---------------------------------------

    Connections = _pro_only("Connections")
    UpdateUserStatus = _pro_only("UpdateUserStatus")
    GetUserStatus = _pro_only("GetUserStatus")
    DeleteUserStatus = _pro_only("DeleteUserStatus")
    BlockUser = _pro_only("BlockUser")
    UnblockUser = _pro_only("UnblockUser")
    RevokeToken = _pro_only("RevokeToken")
    InvalidateUserTokens = _pro_only("InvalidateUserTokens")
    DeviceRegister = _pro_only("DeviceRegister")
    DeviceUpdate = _pro_only("DeviceUpdate")
    DeviceRemove = _pro_only("DeviceRemove")
    DeviceList = _pro_only("DeviceList")
    DeviceTopicList = _pro_only("DeviceTopicList")
    DeviceTopicUpdate = _pro_only("DeviceTopicUpdate")
    UserTopicList = _pro_only("UserTopicList")
    UserTopicUpdate = _pro_only("UserTopicUpdate")
    SendPushNotification = _pro_only("SendPushNotification")
    UpdatePushStatus = _pro_only("UpdatePushStatus")

    # --- internals --------------------------------------------------------------------------

    def authorized(self, context: Any) -> bool:
        """v4: metadata ``authorization`` must equal ``apikey <key>`` when a key is set."""
        key = self.api_key
        if not key:
            return True
        for k, v in context.invocation_metadata() or ():
            if k == "authorization":
                return secret_equal(v if isinstance(v, str) else bytes(v), f"apikey {key}")
        return False

    def _decoded(self, method: Callable[[Any, Any], Awaitable[Any]]) -> Callable[..., Any]:
        """``method`` behind the answer to an undecodable request: UNAUTHENTICATED without
        the key, else INTERNAL as grpc-go answers (the servicer never sees it)."""

        async def handle(request: Any, context: Any) -> Any:
            if request is _UNDECODABLE:
                await self._authorize(context)
                await context.abort(grpc.StatusCode.INTERNAL, "grpc: error unmarshalling request")
            return await method(request, context)

        handle.__name__ = getattr(method, "__name__", "handle")
        return handle

    async def _authorize(self, context: Any) -> None:
        if not self.authorized(context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")

    async def _call(self, method: str, request: Any, context: Any, response_cls: Any) -> Any:
        await self._authorize(context)
        req = pb_to_struct(request, self.executor.methods[method].request)
        res = await self.executor.call(method, req, "grpc")
        out = response_cls()
        _fill(out, res)
        return out

    async def _batch_command(self, cmd: Any, reply: Any) -> None:
        if cmd.id:
            reply.id = cmd.id
        typed = None
        for field, value in cmd.ListFields():
            if field.number >= _FIRST_TYPED_FIELD:
                typed = (field.name, value)
                break
        if typed is not None:
            name, value = typed
            m = self.executor.methods.get(name)
            if m is None:  # PRO-only command
                struct_to_pb(_ERR_NOT_FOUND, reply.error)
                return
            res = await self.executor.call(name, pb_to_struct(value, m.request), "grpc")
            if isinstance(res, a.Error):
                struct_to_pb(res, reply.error)
            else:
                target = getattr(reply, name)
                target.SetInParent()
                struct_to_pb(res, target)
            return
        await self._batch_v4_envelope(cmd, reply)

    async def _batch_v4_envelope(self, cmd: Any, reply: Any) -> None:
        """``method`` + JSON ``params`` (v4 HTTP envelope); the result is raw JSON."""
        name = METHOD_NUMBERS.get(cmd.method) or PRO_METHODS.get(cmd.method)
        m = self.executor.methods.get(name or "")
        if m is None or (not cmd.params and not cmd.method):
            struct_to_pb(_ERR_NOT_FOUND, reply.error)
            return
        try:
            req = msgspec.json.decode(cmd.params or b"{}", type=m.request)
        except (msgspec.DecodeError, msgspec.ValidationError):
            struct_to_pb(_ERR_BAD_REQUEST, reply.error)
            return
        res = await self.executor.call(m.name, req)
        if isinstance(res, a.Error):
            struct_to_pb(res, reply.error)
        else:
            reply.result = _json.encode(res)


_UNDECODABLE = object()
"""What ``_lenient`` deserializers return for bytes that are not the request message."""


def _lenient(request_cls: Any) -> Callable[[bytes], Any]:
    """``request_cls.FromString`` returning ``_UNDECODABLE`` instead of raising: grpc.aio
    logs a raising deserializer's traceback at ERROR and answers UNKNOWN with its message."""

    def decode(data: bytes) -> Any:
        try:
            return request_cls.FromString(data)
        except DecodeError:
            return _UNDECODABLE

    return decode


def _fill(out: Any, res: msgspec.Struct | a.Error) -> None:
    """Put ``res`` into ``XResponse.error`` or ``XResponse.result`` (always present)."""
    if isinstance(res, a.Error):
        out.error.SetInParent()
        struct_to_pb(res, out.error)
    else:
        out.result.SetInParent()
        struct_to_pb(res, out.result)


__all__ = ["SERVICE_NAME", "CentrifugoApiService"]
