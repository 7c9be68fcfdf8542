"""Channels a client asks for in its connect request (``subs``) obey the subscribe rules.

An empty name is not a channel: ``subscribe`` to it closes the connection with 3501 (as
Centrifugo does), and the connect request's ``subs`` ignore it like every other invalid name.
It used to become a subscription to ``""`` that showed in the ``channels`` API, could not be
published to and could not be left (``unsubscribe`` of ``""`` closes the connection).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.transports.harness import running, token

from .wsclients import Closed, JsonWS


async def test_empty_channel_in_connect_subs_is_ignored(tmp_path: Path) -> None:
    async with running(tmp_path, allow_subscribe_for_client=True) as h:
        js = await JsonWS.open(h.http, h.base)
        reply = await js.command(connect={"token": token("alice"), "subs": {"": {}, "top": {}}})
        assert set(reply["connect"]["subs"]) == {"top"}
        assert set((await h.api("channels"))["result"]["channels"]) == {"top"}
        with pytest.raises(Closed) as closed:
            await js.command(subscribe={"channel": ""})
        assert closed.value.code == 3501
