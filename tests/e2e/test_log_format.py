"""``log_format`` on real server processes: ``json`` from the config file, the
``CENTRIFUGO_LOG_FORMAT`` environment variable or the ``--log_format`` flag makes every line of
output one JSON object (time, level, logger, message and the structured fields of the connect
and disconnect lines); the default stays text; an unknown value is a one-line config error."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .helpers import TIMEOUT, next_frame, token, uid
from .server import API_KEY, REPO, ServerProcess, base_config


async def connect_and_disconnect(srv: ServerProcess) -> tuple[str, str]:
    """A raw JSON WebSocket client, disconnected by the server API with code 4503."""
    user = uid("log")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(srv.ws_url)
        await ws.send_str(json.dumps({"id": 1, "connect": {"token": token(user)}}))
        reply = json.loads((await ws.receive(timeout=TIMEOUT)).data.split("\n")[0])
        client = reply["connect"]["client"]
        async with session.post(
            f"{srv.api_url}/disconnect",
            json={"user": user, "disconnect": {"code": 4503, "reason": "bye"}},
            headers={"X-API-Key": API_KEY},
        ) as response:
            assert response.status == 200
        msg = await next_frame(ws)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4503
    return user, client


async def json_lines(srv: ServerProcess, client: str) -> list[dict[str, Any]]:
    """Every output line as JSON, once the disconnect line of ``client`` is written."""
    async with asyncio.timeout(TIMEOUT):
        while sum(client in line for line in srv.log().splitlines()) < 2:
            await asyncio.sleep(0.02)  # a child process's file: nothing to wait on but its size
    raw = [line for line in srv.log().splitlines() if line.strip()]
    return [json.loads(line) for line in raw]  # any text line fails here


@pytest.mark.parametrize("source", ["config", "env", "flag"])
async def test_json_lines(source: str, tmp_path: Path) -> None:
    config = base_config(log_format="json") if source == "config" else base_config()
    config["no_such_option"] = 1  # a config warning is written as a JSON line too
    srv = ServerProcess(
        config,
        tmp_path,
        name=f"log-json-{source}",
        args=("--log_format", "json") if source == "flag" else (),
        env={"CENTRIFUGO_LOG_FORMAT": "json"} if source == "env" else None,
    )
    srv.start()
    try:
        user, client = await connect_and_disconnect(srv)
        records = await json_lines(srv, client)
    finally:
        srv.stop()
    for record in records:
        assert list(record)[:4] == ["time", "level", "logger", "message"], record
        stamp = datetime.datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert stamp.tzinfo is not None
    assert any("serving on 127.0.0.1:" in r["message"] for r in records)
    warning = next(r for r in records if r["logger"] == "gyre.config")
    assert warning["level"] == "warn" and "no_such_option" in warning["message"]
    connected = next(r for r in records if r.get("client") == client and "transport" in r)
    assert connected["user"] == user and connected["transport"] == "websocket"
    assert connected["level"] == "info" and "connected via websocket" in connected["message"]
    gone = next(r for r in records if r.get("client") == client and "code" in r)
    assert (gone["user"], gone["code"], gone["reason"]) == (user, 4503, "bye")


async def test_text_is_the_default(tmp_path: Path) -> None:
    srv = ServerProcess(base_config(), tmp_path, name="log-text")
    srv.start()
    try:
        _, client = await connect_and_disconnect(srv)
        async with asyncio.timeout(TIMEOUT):
            while client not in srv.log():
                await asyncio.sleep(0.02)
    finally:
        srv.stop()
    line = next(ln for ln in srv.log().splitlines() if client in ln)
    assert " INFO gyre" in line and "connected via websocket" in line
    assert not line.startswith("{")


@pytest.mark.parametrize("how", ["config", "flag"])
def test_unknown_format_is_a_one_line_error(how: str, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    config = base_config(log_format="xml") if how == "config" else base_config()
    path.write_text(json.dumps(config))
    flags = ["--log_format", "xml"] if how == "flag" else []
    done = subprocess.run(
        [sys.executable, "-m", "service", "-c", str(path), *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'error: log_format: unknown format "xml" (expected text or json)'
    ]
