"""gRPC proxy adapter: unary calls to ``centrifugal.centrifugo.proxy.CentrifugoProxy``.

Requests and responses are the generated protobuf classes of
``proto/centrifugal/centrifugo/proxy/proxy.proto`` with the standard protobuf codec; this
module maps them field by field from and to the Structs of ``service.proxy.messages`` (same
field names).  One ``grpc.aio`` channel per endpoint (:func:`new_channel`), plaintext or TLS
with ``grpc_cert_file`` as the trusted root; every call has its own deadline and carries the
forwarded headers plus the optional credentials pair as metadata (docs/proxy.md#grpc).
"""

from __future__ import annotations

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


def from_pb(msg: Any) -> dict[str, Any]:
    """A protobuf message as a dict of its set fields; ``bytes`` become ``Raw``.

    A sub-message that is set but empty stays (as ``{}``): ``result`` present with every field
    at its default is a result, unlike an absent ``result``.
    """
    out: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        if fd.type == fd.TYPE_MESSAGE:
            if fd.message_type.GetOptions().map_entry:
                out[fd.name] = {k: from_pb(v) for k, v in value.items()}
            elif fd.is_repeated:
                out[fd.name] = [from_pb(v) for v in value]
            else:
                out[fd.name] = from_pb(value)
        elif fd.type == fd.TYPE_BYTES:
            out[fd.name] = Raw(value)
        else:
            out[fd.name] = list(value) if fd.is_repeated else value
    return out


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
        try:
            return msgspec.convert(from_pb(response), kind.response)
        except msgspec.ValidationError as e:
            raise ProxyFailure(f"invalid response: {e}") from None
