"""Golden frames: a client that sends none of the beyond-v4 fields gets byte-for-byte the
frames Gyre sent before they existed (docs/beyond_v4.md), in JSON and Protobuf, both in a v4
namespace and in a namespace that enables delta, tags filters and delta_publish.

``GOLDEN`` was captured by running ``scenario`` (then written for the node API of the time)
against the code base before the beyond-v4 work (commit 0326dc0); client IDs are replaced
by ``CLIENT`` (they are random).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from service.app import node_config
from service.auth import generate_token
from service.config import load_config
from service.core.client import ClientSession
from service.core.engine import Publication, PublishOptions
from service.core.node import Node
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.policy.hooks import CentrifugoHooks
from service.protocol import JSON, protobuf_codec
from tests.publishing import publish_one

from .harness import RecordingTransport

SECRET = "golden-secret"
OPEN = {
    "allow_subscribe_for_client": True,
    "allow_publish_for_client": True,
    "allow_history_for_client": True,
    "history_size": 10,
    "history_ttl": "300s",
}
NAMESPACES = [
    {"name": "v4", **OPEN},
    {
        "name": "dx",
        "allowed_delta_types": ["fossil"],
        "delta_publish": True,
        "allow_tags_filter": True,
        "force_recovery_mode": "stream",
        **OPEN,
    },
]


def _command(codec: str, cmd: dict[str, Any]) -> bytes:
    if codec == "json":
        return json.dumps(cmd, separators=(",", ":")).encode()
    from centrifugal.centrifuge.protocol import client_pb2
    from google.protobuf.json_format import ParseDict

    pb_cmd = dict(cmd)
    for key in ("publish", "subscribe"):
        inner = pb_cmd.get(key)
        if inner is not None and isinstance(inner.get("data"), dict):
            inner = dict(inner, data=json.dumps(inner["data"]).encode())
            pb_cmd[key] = inner
    msg = client_pb2.Command()
    for k, v in pb_cmd.items():
        if k == "id":
            msg.id = v
        else:
            sub = getattr(msg, k)
            ParseDict({kk: vv for kk, vv in v.items() if kk != "data"}, sub)
            if "data" in v:
                sub.data = v["data"]
    return protobuf_codec().join_frames([msg.SerializeToString()])


async def scenario(tmp: Path, codec: str, ns: str) -> list[str]:
    """Every message the client received but pings, hex-encoded, client ID replaced by
    CLIENT."""
    path = tmp / "config.json"
    path.write_text(json.dumps({"token_hmac_secret_key": SECRET, "namespaces": NAMESPACES}))
    cfg, _ = load_config(str(path))
    node = Node(
        config=node_config(cfg),
        broker=MemoryBroker(epoch_factory=lambda: "EPOCH", sweep_interval=0),
        presence=MemoryPresenceManager(presence_ttl=cfg.presence_ttl),
        hooks=CentrifugoHooks(cfg),
    )
    await node.start()
    try:
        transport = RecordingTransport(JSON if codec == "json" else protobuf_codec())
        c = ClientSession(node, transport)
        opts = PublishOptions(history_size=10, history_ttl=300)
        for n in (1, 2, 3):
            await publish_one(node, f"{ns}:b", b'{"n":%d}' % n, opts)
        steps: list[dict[str, Any]] = [
            {"id": 1, "connect": {"token": generate_token(secret=SECRET, user="42", ttl=0)}},
            {"id": 2, "subscribe": {"channel": f"{ns}:a", "positioned": True, "recoverable": True}},
            {"id": 3, "subscribe": {"channel": f"{ns}:c"}},
            {"id": 4, "publish": {"channel": f"{ns}:a", "data": {"b": 2}}},
            {
                "id": 5,
                "subscribe": {
                    "channel": f"{ns}:b",
                    "recoverable": True,
                    "recover": True,
                    "offset": 1,
                    "epoch": "EPOCH",
                },
            },
            {"id": 6, "history": {"channel": f"{ns}:b", "limit": 10}},
        ]
        for step in steps:
            assert await c.handle_data(_command(codec, step))
            await _ticks()
        await publish_one(node, f"{ns}:a", Publication(b'{"a":1}', tags={"t": "1"}), opts)
        await publish_one(node, f"{ns}:c", b'{"c":1}', PublishOptions())
        await publish_one(node, f"{ns}:b", b'{"n":4}', opts)
        await _ticks()
        # server pings are not in GOLDEN: a run that lasts past the node's first ping tick
        # may get one (docs/protocol.md#ping-and-pong)
        frames = [m for f in transport.frames for m in f if m != transport.codec.ping]
        return [m.replace(c.id.encode(), b"CLIENT").hex() for m in frames]
    finally:
        await node.close()


async def _ticks() -> None:
    for _ in range(5):  # spawned work (join pushes, flushes) runs
        await asyncio.sleep(0)


GOLDEN: dict[str, list[str]] = json.loads(
    (Path(__file__).with_name("golden_v4_frames.json")).read_text()
)


@pytest.mark.parametrize("codec", ["json", "protobuf"])
@pytest.mark.parametrize("ns", ["v4", "dx"])
async def test_frames_are_v4_bytes(tmp_path: Path, codec: str, ns: str) -> None:
    got = await scenario(tmp_path, codec, ns)
    expected = GOLDEN[f"{codec}:v4"]
    assert [bytes.fromhex(g).replace(b"dx:", b"v4:") for g in got] == [
        bytes.fromhex(e) for e in expected
    ]
