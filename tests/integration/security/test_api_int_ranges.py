"""Server API integers outside their proto type are a bad request, never a half-done 100.

Every integer of the server API has a proto type (``uint32 code``, ``int64 expire_at``,
``uint64 offset``, ``int32 limit``). A JSON value outside it used to decode, be applied to
this node's connections, and then fail when the operation was encoded for the other nodes:
error 100 with a traceback, the local clients already disconnected with a close code no
WebSocket can carry, the other nodes never told. It is now refused when the request is
decoded (107 on ``POST /api``, 400 on ``/api/<method>``), as Centrifugo's decoder does, and
nothing happens.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.transports.harness import API_KEY, running, token

from .wsclients import Closed, JsonWS

U32, I64, U64, I32 = 2**32, 2**63, 2**64, 2**31

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "disconnect-code-over-u32": ("disconnect", {"disconnect": {"code": U32, "reason": "x"}}),
    "disconnect-code-negative": ("disconnect", {"disconnect": {"code": -5, "reason": "x"}}),
    "subscribe-expire-over-i64": ("subscribe", {"channel": "news:a", "expire_at": I64}),
    "subscribe-offset-over-u64": (
        "subscribe",
        {"channel": "news:a", "recover_since": {"offset": U64, "epoch": "e"}},
    ),
    "refresh-expire-over-i64": ("refresh", {"expire_at": I64}),
    "history-limit-over-i32": ("history", {"channel": "news:a", "limit": I32}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_out_of_range_integer_is_bad_request_and_does_nothing(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    method, params = CASES[case]
    params = {"user": "victim", **params}
    async with running(tmp_path) as h:
        victim = await JsonWS.connected(h.http, h.base, token("victim"))
        headers = {"X-API-Key": API_KEY}
        body = json.dumps({"method": method, "params": params})
        async with h.http.post(f"{h.base}/api", data=body, headers=headers) as r:
            assert r.status == 200
            assert json.loads(await r.read()) == {"error": {"code": 107, "message": "bad request"}}
        async with h.http.post(
            f"{h.base}/api/{method}", data=json.dumps(params), headers=headers
        ) as r:
            assert r.status == 400
        # the victim's connection was left alone: it still answers commands
        try:
            reply = await asyncio.wait_for(victim.command(presence_stats={"channel": "x"}), 3)
        except Closed as e:
            pytest.fail(f"the victim was disconnected with {e.code}")
        assert "id" in reply
        await victim.ws.close()
    assert "Traceback" not in caplog.text
