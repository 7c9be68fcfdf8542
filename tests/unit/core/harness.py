"""In-memory harness for core tests: a real Node, memory engine and policy; a transport
double that records frames instead of writing to a socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson

from service.app import node_config
from service.config import Config, load_config
from service.core.client import ClientSession
from service.core.node import Node
from service.engines.memory import MemoryBroker, MemoryPresenceManager
from service.policy.hooks import CentrifugoHooks
from service.protocol import JSON, Codec
from service.protocol.codes import DisconnectCode

SECRET = "secret"


class RecordingTransport:
    """Transport double: frames are decoded back into JSON objects for assertions."""

    name = "websocket"
    unidirectional = False
    emulation = False
    disconnect_push = False
    app_ping = True

    def __init__(self, codec: Codec = JSON) -> None:
        self.codec = codec
        self.frames: list[list[bytes]] = []
        self.closed: DisconnectCode | None = None
        self.is_closed = False
        self.pending = 0
        self._event = asyncio.Event()

    def write(self, messages: list[bytes]) -> None:
        self.frames.append(list(messages))
        self._event.set()

    def buffered(self) -> int:
        return self.pending

    def close(self, disconnect: DisconnectCode | None) -> None:
        self.closed = disconnect
        self.is_closed = True
        self._event.set()

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(m) for f in self.frames for m in f]

    async def wait_for(self, pred: Any, timeout: float = 2.0) -> dict[str, Any]:
        """Wait until a received message satisfies ``pred``; return it."""

        async def loop() -> dict[str, Any]:
            while True:
                for msg in self.messages():
                    if pred(msg):
                        return msg
                self._event.clear()
                await self._event.wait()

        return await asyncio.wait_for(loop(), timeout)

    async def wait_closed(self, timeout: float = 2.0) -> DisconnectCode | None:
        async def loop() -> None:
            while not self.is_closed:
                self._event.clear()
                await self._event.wait()

        await asyncio.wait_for(loop(), timeout)
        return self.closed


def make_config(tmp: Path, **options: Any) -> Config:
    base: dict[str, Any] = {"token_hmac_secret_key": SECRET, "api_key": "k"}
    base.update(options)
    path = tmp / "config.json"
    path.write_text(json.dumps(base))
    cfg, _ = load_config(str(path))
    return cfg


async def make_node(cfg: Config, broker: MemoryBroker | None = None) -> Node:
    hooks = CentrifugoHooks(cfg)
    node = Node(
        config=node_config(cfg),
        broker=broker or MemoryBroker(),
        presence=MemoryPresenceManager(presence_ttl=cfg.presence_ttl),
        hooks=hooks,
    )
    await node.start()
    return node


def client(node: Node, codec: Codec = JSON) -> tuple[ClientSession, RecordingTransport]:
    t = RecordingTransport(codec)
    return ClientSession(node, t), t


async def send(c: ClientSession, *cmds: dict[str, Any]) -> bool:
    return await c.handle_data(b"\n".join(orjson.dumps(x) for x in cmds))
