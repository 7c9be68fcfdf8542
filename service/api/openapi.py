"""The OpenAPI 3.1 document of the HTTP server API (``POST /api/<method>``, ``/api/batch``).

Generated, never written by hand: the schemas come from the msgspec Structs in ``messages.py``
through ``msgspec.json.schema_components`` (JSON Schema 2020-12, the dialect of OpenAPI 3.1);
the method list, each method's request type and result type come from the annotations of the
``Executor`` handlers that serve them. ``docs/openapi.json`` is this document, written by
``python -m service.api.openapi docs/openapi.json``; a test keeps the two equal.

Raw JSON fields (``data``, ``info``, ...) carry any JSON value, so their schema is ``{}``;
msgspec cannot write their default (an empty ``Raw``), so the schemas are made from twins of the
Structs in which a Raw field has no default.
"""

from __future__ import annotations

import functools
import operator
import sys
import typing
from typing import Any

import msgspec
import orjson

from .. import __version__
from . import messages as a
from .executor import HANDLERS, METHOD_NUMBERS, Executor

__all__ = ["SUMMARIES", "method_types", "openapi_document", "openapi_json"]

REF = "#/components/schemas/{name}"

SUMMARIES = {
    "publish": "Publish data into a channel",
    "broadcast": "Publish the same data into many channels",
    "subscribe": "Subscribe a user's connections to a channel (server-side subscription)",
    "unsubscribe": "Unsubscribe a user (or one client or session) from a channel",
    "disconnect": "Disconnect a user's connections (or one client or session)",
    "presence": "Clients currently subscribed to a channel",
    "presence_stats": "Number of clients and unique users in a channel",
    "history": "Publications kept in a channel's history stream",
    "history_remove": "Remove a channel's history",
    "channels": "Active channels (with at least one subscriber), optionally by pattern",
    "info": "Information about the running nodes",
    "rpc": "Call a custom server-side RPC method (answers error 104 without one)",
    "refresh": "Refresh a connection's expiration (or expire it now)",
}


def method_types() -> dict[str, tuple[type[msgspec.Struct], type[msgspec.Struct]]]:
    """``method -> (request Struct, result Struct)`` from the Executor handlers' annotations,
    in the order of Centrifugo's method numbers."""
    out: dict[str, tuple[type[msgspec.Struct], type[msgspec.Struct]]] = {}
    for name in METHOD_NUMBERS.values():
        hints = typing.get_type_hints(getattr(Executor, HANDLERS[name][1]))
        out[name] = (hints["req"], hints["return"])
    return out


@functools.cache
def _twin(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A copy of ``cls`` for schema generation: Raw fields get no default."""
    fields: list[tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(cls):
        tp = _twin_type(f.type)
        if f.type is msgspec.Raw:
            fields.append((f.name, msgspec.Raw | msgspec.UnsetType, msgspec.UNSET))
        elif f.default is not msgspec.NODEFAULT:
            fields.append((f.name, tp, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, tp, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, tp, msgspec.NODEFAULT))
    required = [(n, t) for n, t, d in fields if d is msgspec.NODEFAULT]
    optional = [(n, t, d) for n, t, d in fields if d is not msgspec.NODEFAULT]
    return msgspec.defstruct(cls.__name__, [*required, *optional], kw_only=True)


def _twin_type(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _twin(tp)
    args = typing.get_args(tp)
    if not args:
        return tp
    twins = tuple(_twin_type(arg) for arg in args)
    if typing.get_origin(tp) in (typing.Union, type(int | str)):
        return functools.reduce(operator.or_, twins)
    return typing.get_origin(tp)[twins]


def _canonical(node: Any) -> Any:
    """``null`` last in every ``anyOf``: msgspec releases differ in that order, and the
    committed document must not depend on which release generated it."""
    if isinstance(node, dict):
        out = {key: _canonical(value) for key, value in node.items()}
        if isinstance(out.get("anyOf"), list):
            out["anyOf"].sort(key=lambda option: option == {"type": "null"})
        return out
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    return node


def _response(result: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The v5 reply ``{"error": Error}`` or ``{"result": <result>}`` as a Struct named like
    Centrifugo's ``<Method>Response`` messages."""
    name = result.__name__.removesuffix("Result") + "Response"
    existing = getattr(a, name, None)
    if isinstance(existing, type) and issubclass(existing, msgspec.Struct):
        return existing
    return msgspec.defstruct(
        name, [("error", a.Error | None, None), ("result", result | None, None)], kw_only=True
    )


def _security() -> tuple[dict[str, Any], list[dict[str, list[str]]]]:
    schemes = {
        "ApiKeyAuthorization": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: apikey <KEY>` (the scheme name is case-insensitive)",
        },
        "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    return schemes, [{name: []} for name in schemes]


_PLAIN_ERRORS = {
    "400": {
        "description": "The body is not valid JSON for this method's request",
        "content": {"text/plain": {"schema": {"type": "string", "const": "Bad Request"}}},
    },
    "401": {"description": "Missing or wrong API key, or no api_key configured (empty body)"},
    "503": {"description": "The node is shutting down (empty body)"},
}


def _operation(name: str, request: str, response: str) -> dict[str, Any]:
    return {
        "operationId": name,
        "summary": SUMMARIES[name],
        "requestBody": {
            "required": False,
            "description": "An empty body means `{}`",
            "content": {"application/json": {"schema": {"$ref": REF.format(name=request)}}},
        },
        "responses": {
            "200": {
                "description": "The result, or a Centrifugo error (`code`, `message`)",
                "content": {"application/json": {"schema": {"$ref": REF.format(name=response)}}},
            },
            **_PLAIN_ERRORS,
        },
    }


def _batch(methods: dict[str, tuple[str, str]]) -> dict[str, Any]:
    error = {"$ref": REF.format(name="Error")}
    command = {
        "type": "object",
        "description": "One method name with its request; the first known name is run",
        "properties": {m: {"$ref": REF.format(name=req)} for m, (req, _) in methods.items()},
        "minProperties": 1,
    }
    reply = {
        "type": "object",
        "description": '`{"<method>": <result>}` or `{"error": Error}`',
        "properties": {
            "error": error,
            **{m: {"$ref": REF.format(name=res)} for m, (_, res) in methods.items()},
        },
    }
    request = {
        "type": "object",
        "properties": {"commands": {"type": "array", "items": command}},
    }
    response = {
        "type": "object",
        "properties": {"replies": {"type": "array", "items": reply}},
        "required": ["replies"],
    }
    return {
        "operationId": "batch",
        "summary": "Run several commands in order; one reply per command",
        "requestBody": {"content": {"application/json": {"schema": request}}},
        "responses": {
            "200": {
                "description": "The replies in command order",
                "content": {"application/json": {"schema": response}},
            },
            **_PLAIN_ERRORS,
        },
    }


def openapi_document(prefix: str = "/api") -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``prefix`` is the API path (``api_handler_prefix``)."""
    methods = method_types()
    responses = {name: _response(res) for name, (_, res) in methods.items()}
    roots: list[Any] = [_twin(a.Error)]
    for name, (req, res) in methods.items():
        roots += [_twin(req), _twin(res), _twin(responses[name])]
    _, schemas = msgspec.json.schema_components(roots, ref_template=REF)
    names = {name: (req.__name__, responses[name].__name__) for name, (req, _) in methods.items()}
    results = {name: (req.__name__, res.__name__) for name, (req, res) in methods.items()}
    paths: dict[str, Any] = {
        f"{prefix}/{name}": {"post": _operation(name, req, resp)}
        for name, (req, resp) in names.items()
    }
    paths[f"{prefix}/batch"] = {"post": _batch(results)}
    paths[f"{prefix}/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document (with the API key, like every route under the prefix)",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": _PLAIN_ERRORS["401"],
            },
        }
    }
    schemes, security = _security()
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Gyre server API",
            "version": __version__,
            "description": (
                "Centrifugo-compatible HTTP server API, v5 shape: `POST /api/<method>` with "
                'the request as the JSON body answers `{"result": ...}` or '
                '`{"error": {"code", "message"}}` with status 200. The v4 shape '
                '(`POST /api` with `{"method", "params"}`) and the gRPC API take the same '
                "messages."
            ),
        },
        "paths": paths,
        "components": {"schemas": _canonical(schemas), "securitySchemes": schemes},
        "security": security,
    }


def openapi_json(prefix: str = "/api") -> bytes:
    """The document as the bytes served and committed (2-space indent, final newline)."""
    return orjson.dumps(openapi_document(prefix), option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":  # python -m service.api.openapi [PATH]: write the document
    data = openapi_json()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "wb") as out:
            out.write(data)
    else:
        sys.stdout.buffer.write(data)
