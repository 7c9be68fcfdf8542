"""``GET /api/openapi.json`` on a real server, and real API replies checked against it.

Every method is called on the running server (with results and with errors) and each reply
must validate against the response schema the document gives for that route, made strict
(``additionalProperties: false`` on every object with listed properties), so a field the
server writes but the document does not list fails too."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest

from .conftest import server_fixture
from .helpers import API_KEY
from .server import ServerProcess, base_config

server = server_fixture(
    base_config(presence=True, history_size=10, history_ttl="60s"), "openapi", name="server"
)
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
KEY = {"X-API-Key": API_KEY}


def strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return strict(json.loads(COMMITTED.read_text()))


def check(document: dict[str, Any], path: str, status: int, body: bytes) -> None:
    response = document["paths"][path]["post"]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    root = {**copy.deepcopy(schema), "components": document["components"]}
    jsonschema.Draft202012Validator(root).validate(json.loads(body))


CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("publish", {"channel": "ch", "data": {"text": "hi"}, "tags": {"k": "v"}}, "result"),
    ("publish", {"channel": "", "data": {}}, "error"),
    ("broadcast", {"channels": ["ch", "other"], "data": [1, 2]}, "result"),
    ("subscribe", {"channel": "ch", "user": "nobody"}, "result"),
    ("unsubscribe", {"channel": "ch", "user": "nobody"}, "result"),
    ("disconnect", {"user": "nobody"}, "result"),
    ("refresh", {"user": "nobody", "expire_at": 1}, "result"),
    ("presence", {"channel": "ch"}, "result"),
    ("presence_stats", {"channel": "ch"}, "result"),
    ("history", {"channel": "ch", "limit": 10}, "result"),
    ("history", {"channel": "ch", "since": {"offset": 1, "epoch": "nope"}}, "error"),
    ("history_remove", {"channel": "ch"}, "result"),
    ("channels", {}, "result"),
    ("info", {}, "result"),
    ("rpc", {"method": "none"}, "error"),
]


@pytest.mark.parametrize(("method", "params", "outcome"), CALLS)
async def test_replies_match_the_document(
    server: ServerProcess, document: dict[str, Any], method: str, params: Any, outcome: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.api_url}/{method}", json=params, headers=KEY) as r,
    ):
        body = await r.read()
    assert r.status == 200
    assert outcome in json.loads(body), body
    check(document, f"/api/{method}", 200, body)


async def test_batch_and_plain_errors_match_the_document(
    server: ServerProcess, document: dict[str, Any]
) -> None:
    commands = [{"publish": {"channel": "ch", "data": 1}}, {"info": {}}, {"nope": {}}]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.api_url}/batch", json={"commands": commands}, headers=KEY
        ) as r:
            assert r.status == 200
            check(document, "/api/batch", 200, await r.read())
        async with http.post(f"{server.api_url}/info", data=b"[", headers=KEY) as r:
            assert (r.status, await r.text()) == (400, "Bad Request")
        async with http.post(f"{server.api_url}/info", json={}) as r:
            assert (r.status, await r.read()) == (401, b"")


async def test_document_is_served_with_the_api_key(server: ServerProcess) -> None:
    url = f"{server.api_url}/openapi.json"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 401
        for headers in (KEY, {"Authorization": f"apikey {API_KEY}"}):
            async with http.get(url, headers=headers) as r:
                assert r.status == 200
                assert r.content_type == "application/json"
                assert await r.read() == COMMITTED.read_bytes()
        async with http.get(url, params={"api_key": API_KEY}) as r:
            assert r.status == 200
        async with http.post(url, headers=KEY) as r:
            assert r.status == 404  # POST: not a method, like any unknown name
