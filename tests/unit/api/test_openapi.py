"""docs/openapi.json is what the code generates, is a valid OpenAPI 3.1 document and documents
exactly the methods the executor serves, with their request and result types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from service.api.executor import Executor
from service.api.openapi import SUMMARIES, method_types, openapi_document, openapi_json

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "openapi.json"
REGENERATE = "python -m service.api.openapi docs/openapi.json"


def test_committed_document_is_fresh() -> None:
    assert COMMITTED.read_bytes() == openapi_json(), f"stale: run `{REGENERATE}`"
    assert REGENERATE in (ROOT / "README.md").read_text()


def test_valid_openapi_3_1() -> None:
    document = json.loads(COMMITTED.read_text())
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_served_method_is_documented_with_its_types() -> None:
    served = Executor(None, None).methods  # type: ignore[arg-type]  # only the method table
    types = method_types()
    assert set(types) == set(served) == set(SUMMARIES)
    for name, method in served.items():
        assert types[name][0] is method.request, name
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for name, (request, result) in types.items():
        post = document["paths"][f"/api/{name}"]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{request.__name__}"}
        reply = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        reply_schema = schemas[reply.rsplit("/", 1)[1]]
        assert reply_schema["properties"]["result"]["anyOf"][0] == {
            "$ref": f"#/components/schemas/{result.__name__}"
        }
        assert reply_schema["properties"]["error"]["anyOf"][0] == {
            "$ref": "#/components/schemas/Error"
        }


def test_security_schemes_and_error_object() -> None:
    document = openapi_document()
    schemes: dict[str, Any] = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuthorization"]["name"] == "Authorization"
    assert "apikey <KEY>" in schemes["ApiKeyAuthorization"]["description"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["ApiKeyQuery"] == {"type": "apiKey", "in": "query", "name": "api_key"}
    assert document["security"] == [{name: []} for name in schemes]  # any one of them
    error = document["components"]["schemas"]["Error"]
    assert error["properties"] == {
        "code": {"type": "integer", "default": 0},
        "message": {"type": "string", "default": ""},
    }


def test_prefix_follows_api_handler_prefix() -> None:
    paths = openapi_document("/custom/api")["paths"]
    assert "/custom/api/publish" in paths and "/custom/api/batch" in paths
    assert all(path.startswith("/custom/api/") for path in paths)
