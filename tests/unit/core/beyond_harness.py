"""Shared pieces of the beyond-v4 core tests: namespaces, a node, a connected client, publish
helpers, and protobuf frame decoding (the harness transport decodes JSON only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from centrifugal.centrifuge.protocol import client_pb2
from google.protobuf.json_format import MessageToDict

from service.auth import generate_token
from service.core.client import ClientSession
from service.core.engine import Publication
from service.core.node import Node
from service.protocol import protobuf_codec
from tests.publishing import publish_one

from .harness import SECRET, RecordingTransport, client, make_config, make_node, send

HISTORY = {"history_size": 20, "history_ttl": "300s"}
NAMESPACES = [
    {
        "name": "doc",
        "allowed_delta_types": ["fossil"],
        "delta_publish": True,
        "force_positioning": True,
        "allow_subscribe_for_client": True,
        "allow_history_for_client": True,
        **HISTORY,
    },
    {  # delta allowed, marked per publish only, not positioned unless asked
        "name": "opt",
        "allowed_delta_types": ["fossil"],
        "allow_subscribe_for_client": True,
        "allow_positioning": True,
        **HISTORY,
    },
    {"name": "plain", "allow_subscribe_for_client": True, "force_positioning": True, **HISTORY},
    {
        "name": "tags",
        "allow_tags_filter": True,
        "allow_subscribe_for_client": True,
        "allow_recovery": True,
        "allow_history_for_client": True,
        **HISTORY,
    },
    {
        "name": "cache",
        "force_recovery": True,
        "force_recovery_mode": "cache",
        "allow_subscribe_for_client": True,
        "allow_tags_filter": True,
        "allowed_delta_types": ["fossil"],
        **HISTORY,
    },
    {
        "name": "auto",
        "force_recovery": True,
        "force_recovery_mode": "cache",
        "auto_cache_recover": True,
        "allow_subscribe_for_client": True,
        **HISTORY,
    },
]


async def beyond_node(tmp_path: Path) -> AsyncIterator[Node]:
    """Body of each module's ``node`` fixture: a node with ``NAMESPACES``."""
    n = await make_node(make_config(tmp_path, namespaces=NAMESPACES))
    yield n
    await n.close()


def token(user: str = "42", **extra: object) -> str:
    return generate_token(secret=SECRET, user=user, ttl=3600, extra=dict(extra) or None)


async def connected(
    node: Node, *, protobuf: bool = False
) -> tuple[ClientSession, RecordingTransport]:
    c, t = client(node, protobuf_codec()) if protobuf else client(node)
    if protobuf:
        req = client_pb2.Command(id=1)
        req.connect.token = token()
        await c.handle_data(frame(req))
    else:
        await send(c, {"id": 1, "connect": {"token": token()}})
    return c, t


async def publish(
    node: Node,
    channel: str,
    data: bytes,
    *,
    tags: dict[str, str] | None = None,
    delta: bool = False,
) -> Any:
    """Publish as the server API does: the channel's options, one publication."""
    pub = Publication(data, tags=tags, delta=delta)
    return await publish_one(node, channel, pub, node.hooks.publish_options(channel))


def frame(*cmds: Any) -> bytes:
    return protobuf_codec().join_frames([cmd.SerializeToString() for cmd in cmds])


def pb_replies(t: RecordingTransport) -> list[client_pb2.Reply]:
    out = []
    for f in t.frames:
        for msg in f:
            out.append(client_pb2.Reply.FromString(msg))
    return out


async def wait_pb_pubs(t: RecordingTransport, count: int, timeout: float = 2.0) -> list[Any]:
    """Wait until ``count`` publication pushes arrived on a protobuf transport; return them."""

    async def loop() -> list[Any]:
        while True:
            pubs = [r.push.pub for r in pb_replies(t) if r.HasField("push")]
            if len(pubs) >= count:
                return pubs
            t._event.clear()
            await t._event.wait()

    return await asyncio.wait_for(loop(), timeout)


def pb_dicts(t: RecordingTransport) -> list[dict[str, Any]]:
    return [MessageToDict(r, preserving_proto_field_name=True) for r in pb_replies(t)]


def pushes(t: RecordingTransport) -> list[dict[str, Any]]:
    return [m["push"]["pub"] for m in t.messages() if "pub" in m.get("push", {})]
