"""``ttl`` in connect/refresh/subscribe replies is a uint32: a token expiring more than 136
years ahead is announced as the largest ttl, never breaks the reply (a Protobuf client got
no connect reply at all before)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from centrifugal.centrifuge.protocol import client_pb2

from service.auth import generate_token
from service.core.node import Node
from service.core.state import TTL_MAX, ttl_of
from service.protocol import protobuf_codec
from service.protocol.varint import encode_varint

from .harness import SECRET, client, make_config, make_node

FAR = 10**10  # seconds: about 317 years


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await make_node(make_config(tmp_path))
    yield n
    await n.close()


def test_ttl_is_clamped_to_uint32() -> None:
    now = time.time()
    assert ttl_of(int(now) + FAR) == TTL_MAX == 2**32 - 1
    assert 99 <= ttl_of(int(now) + 100) <= 101
    assert ttl_of(int(now) - 5) == 1


async def test_protobuf_connect_with_a_far_expiry(node: Node) -> None:
    token = generate_token(secret=SECRET, user="42", ttl=FAR)
    session, transport = client(node, protobuf_codec())
    command = client_pb2.Command(id=1, connect=client_pb2.ConnectRequest(token=token))
    body = command.SerializeToString()
    await session.handle_data(encode_varint(len(body)) + body)
    async with asyncio.timeout(2):  # the reply is flushed on the next loop tick
        while not transport.frames and not transport.is_closed:
            transport._event.clear()
            await transport._event.wait()
    frames = [m for f in transport.frames for m in f]
    assert frames, f"no reply; closed with {transport.closed}"
    reply = client_pb2.Reply.FromString(frames[0])  # one message, framed by the transport
    assert reply.id == 1 and reply.connect.expires
    assert reply.connect.ttl == TTL_MAX
