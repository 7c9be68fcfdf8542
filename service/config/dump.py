"""``config_to_dict``: the JSON-able form of a :class:`Config` (for checkconfig/debugging)."""

from __future__ import annotations

from typing import Any

from service.config.coerce import CHANNEL_OPTION_KINDS, CONFIG_KINDS, PROXY_KINDS, Kind
from service.config.durations import format_duration
from service.config.model import Config
from service.config.options import ChannelOptions, ProxyConfig

__all__ = ["channel_options_to_dict", "config_to_dict"]


def _scalar(kind: Kind, value: Any) -> Any:
    if kind == "duration":
        return format_duration(value)
    if kind == "strs":
        return list(value)
    return value


def channel_options_to_dict(options: ChannelOptions) -> dict[str, Any]:
    """Channel options as a dict (``history_ttl`` as a Go duration string)."""
    return {k: _scalar(kind, getattr(options, k)) for k, kind in CHANNEL_OPTION_KINDS.items()}


def _proxy(p: ProxyConfig) -> dict[str, Any]:
    return {k: _scalar(kind, getattr(p, k)) for k, kind in PROXY_KINDS.items()}


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """Every option key → its value, JSON-serialisable.

    Durations become Go duration strings (``"25s"``, ``"2160h0m0s"``), tuples become lists,
    ``namespaces`` items are ``{"name": ..., <channel options>}``, ``rpc_namespaces`` and
    ``proxies`` items are plain objects. ``channel_options`` is omitted (it is derived from the
    top-level keys). Writing the result as a JSON config file and loading it gives an equal
    :class:`Config`.
    """
    out: dict[str, Any] = {}
    for key, kind in CONFIG_KINDS.items():
        value = getattr(cfg, key)
        if kind == "namespaces":
            out[key] = [{"name": ns.name, **channel_options_to_dict(ns.options)} for ns in value]
        elif kind == "rpc_namespaces":
            out[key] = [{"name": r.name, "rpc_proxy_name": r.rpc_proxy_name} for r in value]
        elif kind == "proxies":
            out[key] = [_proxy(p) for p in value]
        else:
            out[key] = _scalar(kind, value)
    return out
