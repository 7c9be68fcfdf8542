"""Parsing of the list-of-object options ``namespaces``, ``rpc_namespaces`` and ``proxies``.

Each accepts a list of objects, or a JSON string holding one (the environment form,
``CENTRIFUGO_NAMESPACES='[{"name":"ns1"}]'``; a file may use it too). ``None`` means empty.
Unknown keys inside an item produce a warning ``unknown key "namespaces[0].x" in <origin>``.
Missing names become "" and are reported by validation.
"""

from __future__ import annotations

import json
from typing import Any

from service.config.coerce import CHANNEL_OPTION_KINDS, PROXY_KINDS, coerce, describe
from service.config.errors import ConfigError
from service.config.options import (
    ChannelOptions,
    NamespaceConfig,
    ProxyConfig,
    RpcNamespaceConfig,
)

__all__ = ["parse_namespaces", "parse_proxies", "parse_rpc_namespaces"]


def _items(key: str, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        if not raw.strip():
            return []
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"{key}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from None
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(f"{key}: expected an array of objects, got {describe(raw)}")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{key}[{i}]: expected an object, got {describe(item)}")
        out.append({str(k): v for k, v in item.items()})
    return out


def _name(path: str, item: dict[str, Any]) -> str:
    value = item.get("name")
    return "" if value is None else str(coerce(f"{path}.name", "str", value))


def parse_namespaces(
    raw: Any, warnings: list[str], origin: str, key: str = "namespaces"
) -> tuple[NamespaceConfig, ...]:
    """``namespaces``: each item is ``{"name": ..., <channel option>: ...}``."""
    result: list[NamespaceConfig] = []
    for i, item in enumerate(_items(key, raw)):
        path = f"{key}[{i}]"
        values: dict[str, Any] = {}
        for k, v in item.items():
            if k == "name":
                continue
            kind = CHANNEL_OPTION_KINDS.get(k)
            if kind is None:
                warnings.append(f'unknown key "{path}.{k}" in {origin}')
                continue
            if v is not None:
                values[k] = coerce(f"{path}.{k}", kind, v)
        result.append(NamespaceConfig(name=_name(path, item), options=ChannelOptions(**values)))
    return tuple(result)


def parse_rpc_namespaces(
    raw: Any, warnings: list[str], origin: str, key: str = "rpc_namespaces"
) -> tuple[RpcNamespaceConfig, ...]:
    """``rpc_namespaces``: each item is ``{"name": ..., "rpc_proxy_name": ...}``."""
    result: list[RpcNamespaceConfig] = []
    for i, item in enumerate(_items(key, raw)):
        path = f"{key}[{i}]"
        for k in item:
            if k not in ("name", "rpc_proxy_name"):
                warnings.append(f'unknown key "{path}.{k}" in {origin}')
        proxy = item.get("rpc_proxy_name")
        result.append(
            RpcNamespaceConfig(
                name=_name(path, item),
                rpc_proxy_name=""
                if proxy is None
                else coerce(f"{path}.rpc_proxy_name", "str", proxy),
            )
        )
    return tuple(result)


def parse_proxies(
    raw: Any, warnings: list[str], origin: str, key: str = "proxies"
) -> tuple[ProxyConfig, ...]:
    """``proxies``: each item has the :class:`ProxyConfig` fields (``timeout`` a duration)."""
    result: list[ProxyConfig] = []
    for i, item in enumerate(_items(key, raw)):
        path = f"{key}[{i}]"
        values: dict[str, Any] = {"name": "", "endpoint": ""}
        for k, v in item.items():
            kind = PROXY_KINDS.get(k)
            if kind is None:
                warnings.append(f'unknown key "{path}.{k}" in {origin}')
                continue
            if v is not None:
                values[k] = coerce(f"{path}.{k}", kind, v)
        result.append(ProxyConfig(**values))
    return tuple(result)
