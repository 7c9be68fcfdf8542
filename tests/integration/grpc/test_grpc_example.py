"""``examples/grpc_stream_client.py`` runs against a real server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from centrifugal.centrifugo.api import api_pb2
from gyre_grpc_support import Gyre, token

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "grpc_stream_client.py"


async def test_example_client_prints_publications(gyre: Gyre) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--target",
        gyre.target("grpc_stream"),
        "--token",
        token("example"),
        "--count",
        "1",
        "news",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        while not any(line.startswith("subscribed to news") for line in lines):
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, f"example exited early: {lines}"
            lines.append(line.decode())
        await gyre.api().Publish(api_pb2.PublishRequest(channel="news", data=b'{"text":"hi"}'))
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        assert 'news: {"text":"hi"}' in out.decode()
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
