"""``start(**options)``: in-process servers with the admin endpoints on, stopped at the end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from service.app import Server, start_server
from service.config import load_config

SECRET = "admin-tests-secret"
API_KEY = "admin-tests-api-key"
PASSWORD = "pw"

Start = Callable[..., Awaitable[Server]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[Server] = []

    async def run(**options: Any) -> Server:
        cfg: dict[str, Any] = {
            "token_hmac_secret_key": SECRET,
            "api_key": API_KEY,
            "address": "127.0.0.1",
            "port": 0,
            "admin": True,
            "admin_password": PASSWORD,
            "admin_secret": "admin-secret",
            "log_level": "error",
            "shutdown_timeout": "2s",
        }
        cfg.update(options)
        path = tmp_path / f"config{len(started)}.json"
        path.write_text(json.dumps(cfg))
        config, _ = load_config(str(path))
        srv = await start_server(config)
        started.append(srv)
        return srv

    yield run
    for srv in started:
        await srv.stop()
