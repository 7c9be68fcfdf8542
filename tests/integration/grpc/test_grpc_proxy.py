"""Proxies behind the gRPC client transports (uni_grpc and the bidirectional stream).

The keys named in ``proxy_grpc_metadata`` are copied from the client's gRPC metadata: to the
HTTP proxy as headers, to the gRPC proxy as metadata; other keys never.  The connect proxy
authenticates both transports, RPC goes through the gRPC proxy on the bidirectional stream.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.proxy import proxy_pb2
from centrifugal.centrifugo.unistream import unistream_pb2
from gyre_grpc_support import Gyre, token

from tests.proxy_backends import GrpcBackend, HttpBackend

METADATA = (("authorization", "Bearer grpc"), ("x-tenant", "t1"), ("x-other", "no"))


@pytest.fixture
async def http() -> AsyncIterator[HttpBackend]:
    b = await HttpBackend().start()
    b.answer("connect", {"result": {"user": "http-user", "channels": ["plain:srv"]}})
    yield b
    await b.stop()


@pytest.fixture
async def grpc_backend() -> AsyncIterator[GrpcBackend]:
    b = await GrpcBackend().start()
    b.answer(
        "Connect",
        proxy_pb2.ConnectResponse(
            result=proxy_pb2.ConnectResult(user="grpc-user", data=b'{"hi":1}')
        ),
    )
    b.answer(
        "RPC",
        lambda call: proxy_pb2.RPCResponse(
            result=proxy_pb2.RPCResult(data=b'{"echo":' + call.body.data + b"}")
        ),
    )
    yield b
    await b.stop()


async def test_uni_grpc_metadata_reaches_the_http_connect_proxy(
    start: Callable[..., Awaitable[Gyre]], http: HttpBackend
) -> None:
    g = await start(
        proxy_connect_endpoint=http.url("connect"),
        proxy_grpc_metadata=("Authorization", "x-tenant"),
        proxy_http_headers=("x-other",),  # headers of HTTP transports; not metadata
    )
    uni = g.uni(unistream_pb2.ConnectRequest(name="uni"), metadata=METADATA)
    try:
        push = await uni.inbox.wait(lambda p: p.HasField("connect"))
        assert "plain:srv" in push.connect.subs
        [call] = http.of("connect")
        assert call.body["transport"] == "uni_grpc" and call.body["protocol"] == "protobuf"
        assert call.headers["authorization"] == "Bearer grpc"
        assert call.headers["x-tenant"] == "t1"
        assert "x-other" not in call.headers
    finally:
        await uni.close()


async def test_repeated_metadata_keys_reach_the_proxy_whole(
    start: Callable[..., Awaitable[Gyre]], http: HttpBackend
) -> None:
    """A metadata key sent with several values reaches the backend with all of them (joined
    with ``, ``; cookies with ``; ``), as v4 copies every value."""
    g = await start(
        proxy_connect_endpoint=http.url("connect"), proxy_grpc_metadata=("x-tenant", "cookie")
    )
    md = (("x-tenant", "t1"), ("x-tenant", "t2"), ("cookie", "a=1"), ("cookie", "b=2"))
    uni = g.uni(unistream_pb2.ConnectRequest(name="uni"), metadata=md)
    try:
        await uni.inbox.wait(lambda p: p.HasField("connect"))
        [call] = http.of("connect")
        assert call.headers["x-tenant"] == "t1, t2"
        assert call.headers["cookie"] == "a=1; b=2"
    finally:
        await uni.close()


async def test_grpc_stream_connect_and_rpc_through_the_grpc_proxy(
    start: Callable[..., Awaitable[Gyre]], grpc_backend: GrpcBackend
) -> None:
    g = await start(
        proxy_connect_endpoint=grpc_backend.endpoint,
        proxy_rpc_endpoint=grpc_backend.endpoint,
        proxy_grpc_metadata=("authorization", "x-tenant"),
    )
    stream = g.stream(metadata=METADATA)
    try:
        reply = await stream.command(connect=client_pb2.ConnectRequest(name="bidi"))
        assert not reply.HasField("error"), reply
        assert reply.connect.data == b'{"hi":1}'
        reply = await stream.command(rpc=client_pb2.RPCRequest(method="echo", data=b"[1]"))
        assert reply.rpc.data == b'{"echo":[1]}'
        connect, rpc = grpc_backend.of("Connect")[0], grpc_backend.of("RPC")[0]
        assert connect.body.transport == "grpc_stream" and rpc.body.user == "grpc-user"
        assert rpc.body.method == "echo" and rpc.body.data == b"[1]"
        for call in (connect, rpc):
            assert call.headers["authorization"] == "Bearer grpc"
            assert call.headers["x-tenant"] == "t1"
            assert "x-other" not in call.headers
    finally:
        await stream.close()


async def test_grpc_stream_without_rpc_proxy_is_108(start: Callable[..., Awaitable[Gyre]]) -> None:
    g = await start()
    stream = g.stream()
    try:
        await stream.connect(token("u"))
        reply: Any = await stream.command(rpc=client_pb2.RPCRequest(method="m"))
        assert reply.error.code == 108
    finally:
        await stream.close()


async def test_binary_payloads_through_an_http_proxy(
    start: Callable[..., Awaitable[Gyre]], http: HttpBackend
) -> None:
    """A protobuf client's binary payload: with ``proxy_binary_encoding`` it travels as
    ``b64data`` (encoding ``binary``) and the backend may answer ``b64data``; without it,
    a payload that is not JSON cannot ride in the JSON body: error 107."""
    http.answer(
        "rpc",
        lambda call: {
            "result": {
                "b64data": base64.b64encode(
                    b"\xff" + base64.b64decode(call.body["b64data"])
                ).decode()
            }
        },
    )
    g = await start(proxy_rpc_endpoint=http.url("rpc"), proxy_binary_encoding=True)
    stream = g.stream()
    try:
        await stream.connect(token("bin"))
        reply = await stream.command(rpc=client_pb2.RPCRequest(method="m", data=b"\x00\x01"))
        assert reply.rpc.data == b"\xff\x00\x01"
        [call] = http.of("rpc")
        assert call.body["encoding"] == "binary" and call.body["b64data"] == "AAE="
        assert "data" not in call.body
    finally:
        await stream.close()
    g2 = await start(proxy_rpc_endpoint=http.url("rpc"))
    stream = g2.stream()
    try:
        await stream.connect(token("bin"))
        reply = await stream.command(rpc=client_pb2.RPCRequest(method="m", data=b"\x00\x01"))
        assert reply.error.code == 107
        assert len(http.of("rpc")) == 1  # the backend was not called
    finally:
        await stream.close()
