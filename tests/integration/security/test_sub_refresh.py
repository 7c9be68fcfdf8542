"""Issue 13.2: an expired subscription token never extends a private subscription."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from tests.integration.transports.harness import Harness, running, token

from .wsclients import JsonWS

PRIVATE = "$news:secret"


def sub_token(user: str, channel: str, exp: float) -> str:
    return token(user, channel=channel, exp=int(exp))


async def subscribed(h: Harness, user: str, ttl: float) -> JsonWS:
    js = await JsonWS.connected(h.http, h.base, token(user))
    reply = await js.command(
        subscribe={"channel": PRIVATE, "token": sub_token(user, PRIVATE, time.time() + ttl)}
    )
    assert reply["subscribe"]["expires"] is True
    return js


async def test_own_expired_token_gets_109_and_the_subscription_still_ends(tmp_path: Path) -> None:
    async with running(tmp_path, client_expired_sub_close_delay="100ms") as h:
        js = await subscribed(h, "alice", ttl=2)
        expired = sub_token("alice", PRIVATE, time.time() - 60)
        reply = await js.command(sub_refresh={"channel": PRIVATE, "token": expired})
        assert reply["error"]["code"] == 109
        # the subscription keeps its expiry: unsubscribed with 2501 once it passes
        deadline = time.monotonic() + 5
        pushes = []
        while time.monotonic() < deadline and not pushes:
            got = await asyncio.wait_for(js.recv(), 5)
            pushes = [r for r in got if "push" in r and "unsubscribe" in r["push"]]
        assert pushes[0]["push"] == {
            "channel": PRIVATE,
            "unsubscribe": {"code": 2501, "reason": "subscription expired"},
        }


async def test_expired_token_of_another_user_and_channel_is_invalid(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await subscribed(h, "alice", ttl=60)
        stolen = sub_token("bob", "$news:other", time.time() - 60)
        await js.ws.send_str(
            json.dumps({"id": 50, "sub_refresh": {"channel": PRIVATE, "token": stolen}})
        )
        assert await js.closed() == 3500  # invalid token, as for a valid token of bob's


async def test_expired_token_of_another_user_same_channel_is_invalid(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        js = await subscribed(h, "alice", ttl=60)
        stolen = sub_token("bob", PRIVATE, time.time() - 60)
        await js.ws.send_str(
            json.dumps({"id": 50, "sub_refresh": {"channel": PRIVATE, "token": stolen}})
        )
        assert await js.closed() == 3500
