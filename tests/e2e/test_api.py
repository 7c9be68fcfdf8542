"""Server HTTP API: auth, errors inside 200, v4 ``/api`` and v5 ``/api/<method>`` shapes."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from cent import CentException, RequestException, ResponseError

from .conftest import server_fixture
from .helpers import API_KEY, Api, SubEvents, dec, uid
from .server import base_config

CONFIG = base_config(
    namespaces=[
        {
            "name": "chat",
            "allow_subscribe_for_client": True,
            "presence": True,
            "history_size": 10,
            "history_ttl": "60s",
        },
        {"name": "plain", "allow_subscribe_for_client": True},
    ],
)
server = server_fixture(CONFIG, "api")


@pytest.fixture
async def http() -> Any:
    async with aiohttp.ClientSession() as s:
        yield s


async def subscriber(clients: Any, server: Any, channel: str) -> SubEvents:
    c, _ = clients(server, uid())
    await c.connect()
    ev = SubEvents()
    sub = c.new_subscription(channel, events=ev)
    await sub.subscribe()
    await sub.ready()
    return ev


async def test_wrong_api_key_401(server: Any, http: Any) -> None:
    with pytest.raises(RequestException, match="401"):
        await Api(server.api_url, key="wrong")("publish", "chat:x", {"a": 1})
    with pytest.raises(RequestException, match="401"):
        await Api(server.api_url, key="")("info")
    body = json.dumps({"method": "info", "params": {}})
    for headers in (
        {},
        {"Authorization": "apikey nope"},
        {"Authorization": f"bearer {API_KEY}"},
        {"X-API-Key": "nope"},
    ):
        async with http.post(server.api_url, data=body, headers=headers) as r:
            assert r.status == 401 and await r.read() == b""
    async with http.post(f"{server.api_url}/info", data="{}") as r:
        assert r.status == 401


async def test_api_key_forms(server: Any, http: Any) -> None:
    body = json.dumps({"method": "info", "params": {}})
    for url, headers in (
        (server.api_url, {"Authorization": f"apikey {API_KEY}"}),
        (server.api_url, {"Authorization": f"ApiKey {API_KEY}"}),
        (f"{server.api_url}?api_key={API_KEY}", {}),
        (server.api_url, {"X-API-Key": API_KEY}),
    ):
        async with http.post(url, data=body, headers=headers) as r:
            assert r.status == 200, (url, headers)
            assert r.headers["Content-Type"].startswith("application/json")
            assert len((await r.json())["result"]["nodes"]) == 1


async def test_non_post_405_and_bad_body_400(server: Any, http: Any) -> None:
    auth = {"Authorization": f"apikey {API_KEY}"}
    async with http.get(server.api_url, headers=auth) as r:
        assert r.status == 405
    for body in ("", "{not json", '{"method":"no_such_method","params":{}}'):
        async with http.post(server.api_url, data=body, headers=auth) as r:
            assert r.status == 400, body


async def test_errors_inside_200(server: Any) -> None:
    api = Api(server.api_url)
    cases: list[tuple[str, tuple[Any, ...], int]] = [
        ("publish", ("nope:x", {"a": 1}), 102),
        ("publish", ("", {"a": 1}), 107),
        ("presence", ("plain:x",), 108),
        ("presence_stats", ("plain:x",), 108),
        ("history", ("plain:x",), 108),
        ("history", ("nope:x",), 102),
    ]
    for method, args, code in cases:
        with pytest.raises(ResponseError) as e:
            await api(method, *args)
        assert isinstance(e.value, CentException)
        assert e.value.args[0]["code"] == code, (method, args, e.value.args)
        assert e.value.args[0]["message"]
    reply = await api.raw("rpc", {"method": "anything"})
    assert reply["error"]["code"] == 104
    reply = await api.raw("connections", {})  # PRO-only method
    assert reply["error"] == {"code": 104, "message": "method not found"}


async def test_v4_multiple_commands_in_one_body(server: Any, http: Any) -> None:
    ch = f"chat:{uid()}"
    body = "\n".join(
        json.dumps(c)
        for c in (
            {"method": "publish", "params": {"channel": ch, "data": {"n": 1}}, "id": 7},
            {"method": "publish", "params": {"channel": "nope:x", "data": {"n": 2}}},
            {"method": "history", "params": {"channel": ch, "limit": 10}},
        )
    )
    async with http.post(server.api_url, data=body, headers={"X-API-Key": API_KEY}) as r:
        assert r.status == 200
        replies = [json.loads(line) for line in (await r.text()).split("\n")]
    assert replies[0]["id"] == 7 and replies[0]["result"]["offset"] == 1
    assert replies[1] == {"error": {"code": 102, "message": "unknown channel"}}
    assert [p["data"] for p in replies[2]["result"]["publications"]] == [{"n": 1}]


async def test_v4_publish_run_answers_each_command(server: Any, http: Any) -> None:
    """Consecutive publishes of one body go to the node together; each still gets its own
    reply, a bad one its own error; a body with an unknown method is a 400 after the
    commands before it ran."""
    ch = f"chat:{uid()}"
    cmds = [
        {"method": "publish", "params": {"channel": ch, "data": {"n": 1}}, "id": 1},
        {"method": "publish", "params": {"channel": ch, "data": {"n": 2}}, "id": 2},
        {"method": "publish", "params": {"channel": ch}, "id": 3},
        {"method": "publish", "params": {"channel": ch, "data": {"n": 3}}, "id": 4},
        {"method": "publish", "params": {"channel": "nope:x", "data": {"n": 0}}, "id": 5},
        {"method": "publish", "params": {"channel": ch, "data": {"n": 4}}, "id": 6},
    ]
    body = "\n".join(json.dumps(c) for c in cmds)
    auth = {"X-API-Key": API_KEY}
    async with http.post(server.api_url, data=body, headers=auth) as r:
        assert r.status == 200
        replies = [json.loads(line) for line in (await r.text()).split("\n")]
    assert [x["id"] for x in replies] == [1, 2, 3, 4, 5, 6]
    assert [x.get("result", {}).get("offset") for x in replies] == [1, 2, None, 3, None, 4]
    assert replies[2]["error"]["code"] == 107 and replies[4]["error"]["code"] == 102
    tail = [cmds[0] | {"params": {"channel": ch, "data": {"n": 5}}}, {"method": "nope"}]
    async with http.post(server.api_url, data="\n".join(map(json.dumps, tail)), headers=auth) as r:
        assert r.status == 400
    history = {"method": "history", "params": {"channel": ch, "limit": 10}}
    async with http.post(server.api_url, data=json.dumps(history), headers=auth) as r:
        pubs = (await r.json())["result"]["publications"]
    assert [p["data"]["n"] for p in pubs] == [1, 2, 3, 4, 5]


async def test_v4_publish_without_history_answers_an_empty_result(
    server: Any, clients: Any, http: Any
) -> None:
    """Publishes into a namespace without history answer ``{"result":{}}``, with the
    command's ``id`` when it has one, and reach the subscriber in order."""
    ch = f"plain:{uid()}"
    ev = await subscriber(clients, server, ch)
    cmds = [
        {"method": "publish", "params": {"channel": ch, "data": {"n": 1}}},
        {"method": "publish", "params": {"channel": ch, "data": {"n": 2}}, "id": 9},
        {"method": "broadcast", "params": {"channels": [ch, "nope:x"], "data": {"n": 3}}},
    ]
    body = "\n".join(json.dumps(c) for c in cmds)
    async with http.post(server.api_url, data=body, headers={"X-API-Key": API_KEY}) as r:
        assert r.status == 200
        lines = (await r.text()).split("\n")
    assert lines[:2] == ['{"result":{}}', '{"id":9,"result":{}}']
    assert json.loads(lines[2]) == {
        "result": {
            "responses": [
                {"result": {}},
                {"error": {"code": 102, "message": "unknown channel"}},
            ]
        }
    }
    assert [dec(p.pub.data)["n"] for p in await ev.publications(3)] == [1, 2, 3]


async def test_v5_publish_with_x_api_key(server: Any, clients: Any, http: Any) -> None:
    ch = f"chat:{uid()}"
    ev = await subscriber(clients, server, ch)
    async with http.post(
        f"{server.api_url}/publish",
        json={"channel": ch, "data": {"v": 5}},
        headers={"X-API-Key": API_KEY},
    ) as r:
        assert r.status == 200
        res = await r.json()
    assert res["result"]["offset"] == 1 and res["result"]["epoch"]
    assert dec((await ev.publications(1))[0].pub.data) == {"v": 5}

    async with http.post(
        f"{server.api_url}/publish",
        json={"channel": "nope:x", "data": {"v": 5}},
        headers={"X-API-Key": API_KEY},
    ) as r:
        assert r.status == 200
        assert (await r.json()) == {"error": {"code": 102, "message": "unknown channel"}}
    async with http.post(
        f"{server.api_url}/publish", data="{broken", headers={"X-API-Key": API_KEY}
    ) as r:
        assert r.status == 400
    async with http.post(
        f"{server.api_url}/no_such_method", json={}, headers={"X-API-Key": API_KEY}
    ) as r:
        assert r.status == 404


async def test_v5_batch(server: Any, clients: Any, http: Any) -> None:
    ch = f"chat:{uid()}"
    ev = await subscriber(clients, server, ch)
    body = {
        "commands": [
            {"publish": {"channel": ch, "data": {"b": 1}}},
            {"publish": {"channel": "nope:x", "data": {"b": 2}}},
            {"presence_stats": {"channel": ch}},
            {"history": {"channel": ch, "limit": 5}},
            {},
        ]
    }
    async with http.post(f"{server.api_url}/batch", json=body, headers={"X-API-Key": API_KEY}) as r:
        assert r.status == 200
        replies = (await r.json())["replies"]
    assert len(replies) == 5
    assert replies[0]["publish"]["offset"] == 1
    assert replies[1]["error"]["code"] == 102
    assert replies[2]["presence_stats"] == {"num_clients": 1, "num_users": 1}
    assert [p["data"] for p in replies[3]["history"]["publications"]] == [{"b": 1}]
    assert replies[4]["error"]["code"] == 104
    assert dec((await ev.publications(1))[0].pub.data) == {"b": 1}


async def test_v5_query_api_key(server: Any, http: Any) -> None:
    async with http.post(f"{server.api_url}/info?api_key={API_KEY}", json={}) as r:
        assert r.status == 200
        assert (await r.json())["result"]["nodes"][0]["num_clients"] >= 0


async def test_cent_methods(server: Any, clients: Any) -> None:
    api = Api(server.api_url)
    ch = f"chat:{uid()}"
    ev = await subscriber(clients, server, ch)
    res = await api("broadcast", [ch, f"chat:{uid()}"], {"all": True})
    assert len(res["responses"]) == 2
    assert dec((await ev.publications(1))[0].pub.data) == {"all": True}
    channels = await api("channels", "chat:*")
    assert channels[ch] == {"num_clients": 1}
    info = await api("info")
    assert info["nodes"][0]["num_clients"] >= 1
    await api("history_remove", ch)
    hist = await api("history", ch, limit=10)
    assert hist["publications"] == [] and hist["offset"] == 1
