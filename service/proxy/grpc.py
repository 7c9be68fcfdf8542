"""gRPC proxy adapter: unary calls to ``centrifugal.centrifugo.proxy.CentrifugoProxy``.

Requests and responses are the generated protobuf classes of
``proto/centrifugal/centrifugo/proxy/proxy.proto`` with the standard protobuf codec; this
module maps them field by field from and to the Structs of ``service.proxy.messages`` (same
field names).  One ``grpc.aio`` channel per endpoint (:func:`new_channel`), plaintext or TLS
with ``grpc_cert_file`` as the trusted root; every call has its own deadline and carries the
forwarded headers plus the optional credentials pair as metadata (docs/proxy.md#3-grpc-proxies).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import msgspec
from centrifugal.centrifugo.proxy import proxy_pb2  # generated/, on sys.path via service
from msgspec import Raw

from .messages import KINDS, Kind, ReqT, RespT
from .transport import ProxyFailure

SERVICE = "centrifugal.centrifugo.proxy.CentrifugoProxy"


def target_of(endpoint: str) -> str:
    """``grpc://host:port`` or ``host:port`` -> ``host:port``."""
    return endpoint.removeprefix("grpc://")


def new_channel(endpoint: str, cert_file: str = "") -> grpc.aio.Channel:
    """A channel to ``endpoint``: TLS trusting the PEM roots in ``cert_file`` when given.

    Raises OSError when ``cert_file`` cannot be read.
    """
    target = target_of(endpoint)
    if cert_file:
        with open(cert_file, "rb") as f:
            roots = f.read()
        return grpc.aio.secure_channel(
            target, grpc.ssl_channel_credentials(root_certificates=roots)
        )
    return grpc.aio.insecure_channel(target)


def to_pb(request: msgspec.Struct, cls: Any) -> Any:
    """The protobuf message of class ``cls`` with the fields of ``request`` (flat messages)."""
    fields: dict[str, Any] = {}
    for name in request.__struct_fields__:
        value = getattr(request, name)
        fields[name] = bytes(value) if type(value) is Raw else value
    return cls(**fields)


def _struct_in(hint: Any) -> type[msgspec.Struct] | None:
    """The Struct class inside an annotation (``X | None``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return hint
    for arg in typing.get_args(hint):
        found = _struct_in(arg)
        if found is not None:
            return found
    return None


@functools.cache
def _nested(cls: type[msgspec.Struct]) -> dict[str, type[msgspec.Struct] | None]:
    """Field name -> the Struct class of a sub-message field (None for scalar fields)."""
    return {name: _struct_in(hint) for name, hint in typing.get_type_hints(cls).items()}


def from_pb(msg: Any, cls: type[RespT]) -> RespT:
    """The Struct ``cls`` with the set fields of protobuf message ``msg``; ``bytes`` become
    ``Raw``; fields ``cls`` does not know are dropped.

    A sub-message that is set but empty stays: ``result`` present with every field at its
    default is a result, unlike an absent ``result``.
    """
    nested = _nested(cls)
    fields: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        name = fd.name
        if name not in nested:
            continue
        sub = nested[name]
        if fd.type == fd.TYPE_MESSAGE and sub is not None:
            if fd.message_type.GetOptions().map_entry:
                fields[name] = {k: from_pb(v, sub) for k, v in value.items()}
            elif fd.is_repeated:
                fields[name] = [from_pb(v, sub) for v in value]
            else:
                fields[name] = from_pb(value, sub)
        elif fd.type == fd.TYPE_BYTES:
            fields[name] = Raw(value)
        else:
            fields[name] = list(value) if fd.is_repeated else value
    return cls(**fields)


class GrpcTransport:
    """``ProxyTransport`` for one gRPC endpoint (``grpc://host:port`` or ``host:port``)."""

    __slots__ = ("_calls", "_credentials", "channel")

    protocol = "grpc"

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        credentials_key: str = "",
        credentials_value: str = "",
    ) -> None:
        self.channel = channel
        self._credentials = (
            (credentials_key.lower(), credentials_value) if credentials_key else None
        )
        self._calls: dict[str, tuple[Callable[..., Any], Any]] = {}
        for kind in KINDS:
            req_cls = getattr(proxy_pb2, kind.request.__name__)
            resp_cls = getattr(proxy_pb2, kind.response.__name__)
            call = channel.unary_unary(
                f"/{SERVICE}/{kind.method}",
                request_serializer=req_cls.SerializeToString,
                response_deserializer=resp_cls.FromString,
            )
            self._calls[kind.name] = (call, req_cls)

    async def call(
        self,
        kind: Kind[ReqT, RespT],
        request: ReqT,
        headers: Mapping[str, str],
        timeout: float,
    ) -> RespT:
        call, req_cls = self._calls[kind.name]
        metadata = list(headers.items())
        if self._credentials is not None:
            metadata.append(self._credentials)
        try:
            response = await call(to_pb(request, req_cls), timeout=timeout, metadata=metadata)
        except grpc.aio.AioRpcError as e:
            raise ProxyFailure(f"gRPC {e.code().name}: {e.details()}") from None
        except (ValueError, TypeError) as e:  # e.g. metadata the gRPC library refuses
            raise ProxyFailure(f"{type(e).__name__}: {e}") from None
        return from_pb(response, kind.response)
