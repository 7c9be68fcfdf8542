"""Typing of raw option values (file values, environment strings, flags).

Each option has a *kind* derived from its annotation on :class:`Config` / the nested
dataclasses: ``bool``, ``int``, ``duration`` (float seconds), ``str``, ``strs`` (tuple of str)
or one of the nested list kinds ``namespaces``, ``rpc_namespaces``, ``proxies``.

Accepted input (every error is a :class:`ConfigError` whose message starts with the key):

* bool: a boolean, 0/1, or a Go ``ParseBool`` string (1 t T TRUE true True 0 f F ...).
* int: an integer, an integral float, or a decimal string (a blank string is 0).
* duration: a Go duration string (``"25s"``, ``"1h30m"``); a plain number - an int or float in
  a file, or a numeric string anywhere - means SECONDS (compatibility choice, documented).
* str: a string; numbers and booleans are converted to their text (YAML ``key: 123``).
* strs: a list of scalars, or a single string split on whitespace (env style, so a single
  ``redis_address`` string becomes a 1-tuple).
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

from service.config.durations import parse_bool, parse_duration
from service.config.errors import ConfigError
from service.config.model import Config
from service.config.options import ChannelOptions, ProxyConfig

__all__ = [
    "CHANNEL_OPTION_KINDS",
    "CONFIG_KINDS",
    "PROXY_KINDS",
    "Kind",
    "coerce",
    "describe",
]

Kind = Literal["bool", "int", "duration", "str", "strs", "namespaces", "rpc_namespaces", "proxies"]

_NESTED: dict[str, Kind] = {
    "namespaces": "namespaces",
    "rpc_namespaces": "rpc_namespaces",
    "proxies": "proxies",
}
_SCALAR: dict[Any, Kind] = {
    bool: "bool",
    int: "int",
    float: "duration",
    str: "str",
    tuple[str, ...]: "strs",
}
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def _kinds(cls: type, skip: frozenset[str] = frozenset()) -> dict[str, Kind]:
    hints = typing.get_type_hints(cls)
    out: dict[str, Kind] = {}
    for name, hint in hints.items():
        if name in skip:
            continue
        out[name] = _NESTED[name] if name in _NESTED else _SCALAR[hint]
    return out


CONFIG_KINDS: dict[str, Kind] = _kinds(Config, frozenset({"channel_options"}))
"""Kind of every top-level option key."""
CHANNEL_OPTION_KINDS: dict[str, Kind] = _kinds(ChannelOptions)
PROXY_KINDS: dict[str, Kind] = _kinds(ProxyConfig)


def describe(value: Any) -> str:
    """Short JSON-ish description of a bad value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\n", "\\n") + '"' if len(value) <= 60 else "a long string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


def _bool(key: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        try:
            return parse_bool(v)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
    raise ConfigError(f"{key}: expected a boolean, got {describe(v)}")


def _int(key: str, v: Any) -> int:
    if isinstance(v, bool):
        raise ConfigError(f"{key}: expected an integer, got {describe(v)}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        if not v.strip():
            return 0  # viper: "" reads as 0 (e.g. the classic ``"internal_port": ""``)
        try:
            return int(v.strip())
        except ValueError:
            pass
    raise ConfigError(f"{key}: expected an integer, got {describe(v)}")


def _duration(key: str, v: Any) -> float:
    if isinstance(v, bool):
        raise ConfigError(f'{key}: expected a duration like "25s", got {describe(v)}')
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        text = v.strip()
        if _NUMBER.match(text):
            return float(text)
        try:
            return parse_duration(text)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
    raise ConfigError(f'{key}: expected a duration like "25s", got {describe(v)}')


def _str(key: str, v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    raise ConfigError(f"{key}: expected a string, got {describe(v)}")


def _strs(key: str, v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return tuple(v.split())
    if isinstance(v, (list, tuple)):
        return tuple(_str(f"{key}[{i}]", item) for i, item in enumerate(v))
    raise ConfigError(f"{key}: expected an array of strings, got {describe(v)}")


_SCALAR_COERCERS: dict[str, Any] = {
    "bool": _bool,
    "int": _int,
    "duration": _duration,
    "str": _str,
    "strs": _strs,
}


def coerce(key: str, kind: Kind, value: Any) -> Any:
    """Convert ``value`` to the Python type of a scalar ``kind``; ``key`` names it in errors.

    Nested kinds are not handled here (see :mod:`service.config.nested`).
    """
    try:
        fn = _SCALAR_COERCERS[kind]
    except KeyError:
        raise ValueError(f"coerce() does not handle kind {kind!r}") from None
    return fn(key, value)
