"""The admin web UI in a real headless chromium against real server processes.

An operator logs in (wrong, then right password), watches the Status page count a
centrifuge-python client, sees both nodes of a Redis cluster, publishes / reads presence and
history / disconnects from the Actions page, and watches a channel live.  Every page loads
without console errors and asks no host but Gyre.  Screenshots: ``test-artifacts/admin-ui/``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import centrifuge
import pytest
from playwright.async_api import Browser, Page, expect

from tests.redis_fixtures import RedisProcess, redis_server, redis_session_factory

from .browser import Watched, browser, watched_page
from .conftest import server_fixture
from .helpers import API_KEY, ClientEvents, SubEvents, dec, token, uid
from .server import ServerProcess, base_config

__all__ = ["redis_server", "redis_session_factory"]  # fixtures used by the Redis test

PASSWORD = "admin-ui-password"
ADMIN = {"admin": True, "admin_password": PASSWORD, "admin_secret": "admin-ui-secret"}
CHAT = {
    "name": "chat",
    "allow_subscribe_for_client": True,
    "presence": True,
    "join_leave": True,
    "history_size": 20,
    "history_ttl": "300s",
}
server = server_fixture(base_config(name="gyre-ui-1", namespaces=[CHAT], **ADMIN), "admin-ui")
UI_TIMEOUT = 8000  # ms: the Status page polls every 2 s


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with browser() as b:
        yield b


@pytest.fixture
async def sdk() -> AsyncIterator[list[centrifuge.Client]]:
    made: list[centrifuge.Client] = []
    yield made
    for c in made:
        await c.disconnect()


async def connect(
    made: list[centrifuge.Client], srv: ServerProcess, user: str
) -> tuple[centrifuge.Client, Any]:
    events = ClientEvents()
    client = centrifuge.Client(srv.ws_url, token=token(user), events=events, proxy=None)
    made.append(client)
    await client.connect()
    await events.wait("connected")
    return client, events


async def log_in(w: Watched, srv: ServerProcess) -> Page:
    page = w.page
    await page.goto(srv.http + "/")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Status", exact=True)).to_be_visible()
    return page


def assert_clean(w: Watched, srv: ServerProcess, expected_errors: int = 0) -> None:
    assert w.page_errors == []
    assert len(w.console_errors) == expected_errors, w.console_errors
    assert w.foreign_requests(srv.http) == []


def node_row(page: Page, name: str) -> Any:
    return page.locator("#nodes tbody tr", has_text=name)


async def cell(page: Page, name: str, column: str) -> Any:
    headers = await page.locator("#nodes thead th").all_inner_texts()
    return node_row(page, name).locator("th, td").nth(headers.index(column))


async def api_publish(srv: ServerProcess, channel: str, data: Any) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{srv.api_url}/publish",
            data=json.dumps({"channel": channel, "data": data}),
            headers={"X-API-Key": API_KEY},
        ) as r,
    ):
        assert r.status == 200 and "error" not in await r.json()


async def test_login_and_status_counts_a_client(
    server: ServerProcess, chromium: Browser, sdk: list[centrifuge.Client]
) -> None:
    w = await watched_page(chromium)
    page = w.page
    await page.goto(server.http + "/")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await w.screenshot("login")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert").filter(has_text="Wrong password.")).to_be_visible()
    await expect(page.get_by_role("navigation")).to_be_hidden()
    # the one expected console line: Chrome reports the server's 400 for the wrong password
    assert len(w.console_errors) == 1 and "400" in w.console_errors[0], w.console_errors
    assert "/admin/auth" in w.console_errors[0]

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Status", exact=True)).to_be_visible()
    row = node_row(page, "gyre-ui-1")
    await expect(row).to_have_count(1)
    clients = await cell(page, "gyre-ui-1", "Clients")
    await expect(clients).to_have_text("0", timeout=UI_TIMEOUT)

    await connect(sdk, server, uid("status"))
    await expect(clients).to_have_text("1", timeout=UI_TIMEOUT)
    await expect(page.locator("#totals")).to_contain_text("Connections1")
    await expect(await cell(page, "gyre-ui-1", "Memory")).to_contain_text("MiB")
    await expect(page.locator("figure.chart")).to_have_count(3)
    await expect(page.locator("figure.chart polyline")).to_have_count(3, timeout=UI_TIMEOUT)
    await w.screenshot("status")
    assert_clean(w, server, expected_errors=1)


async def test_accessible_names(server: ServerProcess, chromium: Browser) -> None:
    w = await watched_page(chromium)
    page = await log_in(w, server)
    for link in ("Status", "Actions", "Channel"):
        await expect(page.get_by_role("link", name=link, exact=True)).to_be_visible()
    for header in ("Name", "Version", "Uptime", "Clients", "Channels"):
        await expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    await page.get_by_role("link", name="Actions").click()
    await expect(page.get_by_role("combobox", name="Method")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Channel", exact=True)).to_be_visible()
    await expect(page.get_by_role("textbox", name="Data", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    await expect(page.get_by_role("region", name="Result")).to_be_visible()
    await page.get_by_role("link", name="Channel").click()
    await expect(page.get_by_role("textbox", name="Channel", exact=True)).to_be_visible()
    assert_clean(w, server)


async def test_actions_publish_presence_history_disconnect(
    server: ServerProcess, chromium: Browser, sdk: list[centrifuge.Client]
) -> None:
    user, channel = uid("act"), f"chat:{uid('c')}"
    client, events = await connect(sdk, server, user)
    sub_events = SubEvents()
    sub = client.new_subscription(channel, events=sub_events)
    await sub.subscribe()
    await sub.ready()

    w = await watched_page(chromium)
    page = await log_in(w, server)
    await page.get_by_role("link", name="Actions").click()
    method = page.get_by_role("combobox", name="Method")
    result = page.get_by_role("region", name="Result")
    send = page.get_by_role("button", name="Send")

    await method.select_option("publish")
    await page.get_by_role("textbox", name="Channel", exact=True).fill(channel)
    await page.get_by_role("textbox", name="Data", exact=True).fill('{"text": "from the page"}')
    await send.click()
    await expect(result).to_contain_text("publish: OK")
    pub = await sub_events.wait("publication")
    assert dec(pub.pub.data) == {"text": "from the page"}

    await method.select_option("presence")  # the channel is kept across methods
    await send.click()
    await expect(result).to_contain_text("presence: OK")
    await expect(result).to_contain_text(f'"user": "{user}"')

    await method.select_option("history")
    await send.click()
    await expect(result).to_contain_text("history: OK")
    await expect(result).to_contain_text('"text": "from the page"')
    await w.screenshot("actions")

    await method.select_option("presence")
    await page.get_by_role("textbox", name="Channel", exact=True).fill("nope:x")
    await send.click()
    await expect(result).to_contain_text("Error 102: unknown channel")

    await method.select_option("disconnect")
    await page.get_by_role("textbox", name="User", exact=True).fill(user)
    await send.click()
    await expect(result).to_contain_text("disconnect: OK")
    ctx = await events.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3503, "force disconnect")
    assert client.state == centrifuge.ClientState.DISCONNECTED
    assert_clean(w, server)


async def test_actions_publish_the_data_exactly_as_typed(
    server: ServerProcess, chromium: Browser
) -> None:
    """Regression: the page re-encoded the Data editor's JSON through JavaScript numbers, so
    12345678901234567891 was published (and formatted, and shown) as 12345678901234567000.
    What the operator types (formatted over several lines) is what subscribers get."""
    channel = f"chat:{uid('exact')}"
    typed = (
        '{\n  "id": 12345678901234567891,\n  "price": 1.10,\n  "tags": [\n    "a",\n    "b"\n  ]\n}'
    )
    w = await watched_page(chromium)
    page = await log_in(w, server)
    await page.get_by_role("link", name="Actions").click()
    await page.get_by_role("combobox", name="Method").select_option("publish")
    await page.get_by_role("textbox", name="Channel", exact=True).fill(channel)
    data = page.get_by_role("textbox", name="Data", exact=True)
    await data.fill(typed.replace("\n", "").replace("  ", ""))  # one line; Format lays it out
    await page.get_by_role("button", name="Format Data").click()
    await expect(data).to_have_value(typed)
    await page.get_by_role("button", name="Send").click()
    result = page.get_by_role("region", name="Result")
    await expect(result).to_contain_text("publish: OK")
    await page.get_by_role("combobox", name="Method").select_option("history")
    await page.get_by_role("button", name="Send").click()
    await expect(result).to_contain_text('"id": 12345678901234567891,\n')
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.api_url}/history",
            data=json.dumps({"channel": channel, "limit": 1}),
            headers={"X-API-Key": API_KEY},
        ) as r,
    ):
        body = await r.text()
    assert '"data":{"id":12345678901234567891,"price":1.10,"tags":["a","b"]}' in body, body
    assert_clean(w, server)


async def test_channel_live_view_shows_an_api_publication_within_a_second(
    server: ServerProcess, chromium: Browser, sdk: list[centrifuge.Client]
) -> None:
    channel, marker = f"chat:{uid('live')}", uid("marker")
    w = await watched_page(chromium)
    page = await log_in(w, server)
    await page.get_by_role("link", name="Channel").click()
    await page.get_by_role("textbox", name="Channel", exact=True).fill(channel)
    await page.get_by_role("button", name="Watch").click()
    await expect(page.get_by_role("status").filter(has_text="Watching")).to_be_visible()

    shown = asyncio.create_task(
        page.wait_for_function(
            """m => [...document.querySelectorAll('#live-events li.publication')]
                     .some(li => li.textContent.includes(m))""",
            arg=marker,
            polling="raf",
            timeout=5000,
        )
    )
    await asyncio.sleep(0)
    started = time.monotonic()
    await api_publish(server, channel, {"marker": marker})
    await shown
    assert time.monotonic() - started < 1.0
    # shown as published, not through a JavaScript number (12345678901234567000)
    await api_publish(server, channel, {"big": 12345678901234567891})
    newest = page.locator("#live-events li.publication").first
    await expect(newest).to_contain_text('"big": 12345678901234567891')

    client, _ = await connect(sdk, server, "live-user")
    sub = client.new_subscription(channel)
    await sub.subscribe()
    await expect(page.locator("#live-events li.join")).to_contain_text("live-user")
    await sub.unsubscribe()
    await expect(page.locator("#live-events li.leave")).to_contain_text("live-user")
    await w.screenshot("channel")
    await page.get_by_role("button", name="Stop").click()
    await expect(page.get_by_role("status").filter(has_text="Stopped.")).to_be_visible()
    assert_clean(w, server)


async def test_invalid_token_and_logout_return_to_login(
    server: ServerProcess, chromium: Browser
) -> None:
    w = await watched_page(chromium)
    page = await log_in(w, server)
    assert await page.evaluate("sessionStorage.getItem('gyre-admin-token')")
    await page.evaluate("sessionStorage.setItem('gyre-admin-token', '1.forged')")
    await expect(page.get_by_text("Your session has expired")).to_be_visible(timeout=UI_TIMEOUT)
    await expect(page.get_by_label("Password")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('gyre-admin-token')") is None
    # the server's 401 for the forged token is the only console error
    assert all("401" in e and "/admin/api" in e for e in w.console_errors), w.console_errors
    w.console_errors.clear()

    page = await log_in(w, server)
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You have logged out.")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('gyre-admin-token')") is None
    await page.reload()
    await expect(page.get_by_label("Password")).to_be_visible()
    assert_clean(w, server)


insecure = server_fixture(
    base_config(name="gyre-ui-open", admin=True, admin_insecure=True, admin_handler_prefix="/ops"),
    "admin-ui-insecure",
    name="insecure",
)


async def test_insecure_mode_under_a_prefix_needs_no_login(
    insecure: ServerProcess, chromium: Browser
) -> None:
    w = await watched_page(chromium)
    page = w.page
    await page.goto(insecure.http + "/ops")  # redirected to /ops/
    await expect(page.get_by_role("heading", name="Status", exact=True)).to_be_visible()
    await expect(page.get_by_text("admin_insecure is on")).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    await expect(node_row(page, "gyre-ui-open")).to_have_count(1)
    assert page.url == insecure.http + "/ops/"
    assert_clean(w, insecure)


throttled = server_fixture(
    base_config(name="gyre-ui-throttled", **ADMIN), "admin-ui-throttled", name="throttled"
)


async def test_throttled_login_says_why(throttled: ServerProcess, chromium: Browser) -> None:
    """After 10 wrong passwords the server answers 429 for a while, even to the right
    password; the form says so in words, not only with the status code."""
    w = await watched_page(chromium)
    page = w.page
    await page.goto(throttled.http + "/")
    alert = page.get_by_role("alert")
    for _ in range(10):
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Log in").click()
        await expect(alert.filter(has_text="Wrong password.")).to_be_visible()
        await expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(alert).to_have_text(
        "Cannot log in: too many failed attempts from this address; wait a few seconds (HTTP 429)"
    )
    await expect(page.get_by_role("navigation")).to_be_hidden()


@pytest.fixture
def redis_nodes(redis_server: RedisProcess, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    prefix = uid("ui")
    nodes = []
    for name in ("gyre-ui-a", "gyre-ui-b"):
        cfg = base_config(
            name=name,
            engine="redis",
            redis_address=f"redis://{redis_server.address}",
            redis_prefix=prefix,
            namespaces=[CHAT],
            **ADMIN,
        )
        srv = ServerProcess(cfg, tmp_path / name, name=name)
        nodes.append(srv)
        srv.start()
    yield nodes
    for srv in nodes:
        srv.stop()


async def test_two_nodes_on_redis_both_listed_with_live_totals(
    redis_nodes: list[ServerProcess], chromium: Browser, sdk: list[centrifuge.Client]
) -> None:
    a, b = redis_nodes
    channel = f"chat:{uid('busy')}"
    for srv, user in ((a, "ua1"), (a, "ua2"), (b, "ub1")):
        client, _ = await connect(sdk, srv, user)
        sub = client.new_subscription(channel)
        await sub.subscribe()
        await sub.ready()
    w = await watched_page(chromium)
    page = await log_in(w, a)
    await expect(page.locator("#nodes tbody tr")).to_have_count(2, timeout=UI_TIMEOUT)
    for name, clients in (("gyre-ui-a", "2"), ("gyre-ui-b", "1")):
        await expect(await cell(page, name, "Clients")).to_have_text(clients, timeout=UI_TIMEOUT)
        await expect(await cell(page, name, "Memory")).to_have_text(re.compile(r"MiB$"))
    await expect(page.locator("#nodes tfoot")).to_contain_text("Total (2 nodes)")
    await expect(page.locator("#totals")).to_contain_text("Connections3")

    # publications made on node B show in the cluster's messages/s, read on node A
    async def publish_on_b() -> None:
        n = 0
        while True:
            n += 1
            await api_publish(b, channel, {"n": n})
            await asyncio.sleep(0.05)

    publisher = asyncio.create_task(publish_on_b())
    try:
        rate = page.locator("#totals div", has_text="Messages/s").locator("dd")
        # at least 1.0 per second (the form "12.3"; "0.x" or a dash do not match)
        await expect(rate).to_have_text(re.compile(r"^[1-9][\d,]*\.\d$"), timeout=3 * UI_TIMEOUT)
    finally:
        publisher.cancel()
    await w.screenshot("status-two-nodes")
    assert_clean(w, a)
