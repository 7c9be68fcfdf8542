"""Reading a configuration file (JSON, YAML or TOML, chosen by extension)."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from typing import Any

import yaml

from service.config.errors import ConfigError

__all__ = ["SUPPORTED_EXTENSIONS", "file_format", "read_config_file", "render_config"]

SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
}


def file_format(path: str) -> str:
    """``"json"``, ``"yaml"`` or ``"toml"`` for ``path``'s extension; ConfigError otherwise."""
    ext = os.path.splitext(path)[1].lower()
    try:
        return SUPPORTED_EXTENSIONS[ext]
    except KeyError:
        raise ConfigError(
            f"{path}: unsupported config file extension {ext or '(none)'!r} "
            "(expected .json, .yaml, .yml or .toml)"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _parse_yaml(path: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = _one_line(e.problem or str(e))
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {_one_line(str(e))}") from None


def read_config_file(path: str) -> dict[str, Any] | None:
    """Parse ``path`` into a top-level mapping with str keys.

    Returns None when the file does not exist (the caller warns and uses defaults). Raises
    ConfigError (one line, naming the file) on an unsupported extension, an unreadable file,
    a syntax error (with line/column when the parser reports them), or a top level that is
    not a mapping. An empty YAML/TOML file is an empty mapping.
    """
    if not os.path.exists(path):
        return None
    fmt = file_format(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config file: {_one_line(str(e))}") from None
    data: Any
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from None
    elif fmt == "yaml":
        data = _parse_yaml(path, text)
        if data is None:
            data = {}
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {_one_line(str(e))}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level of a config file must be an object/mapping")
    return {str(k): v for k, v in data.items()}


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(key, v) for v in value) + "]"
    raise ValueError(f"{key}: cannot write {type(value).__name__} as TOML")


def render_config(data: Mapping[str, Any], fmt: str) -> str:
    """Serialise a flat options mapping as ``fmt`` (``"json"``, ``"yaml"`` or ``"toml"``).

    Used by ``genconfig``. Values must be str, bool, int, float or lists of those (TOML is
    written by hand as ``key = value`` lines; ValueError for anything else). The text ends
    with a newline and parses back to ``data`` with :func:`read_config_file`.
    """
    if fmt == "json":
        return json.dumps(dict(data), indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
    if fmt == "toml":
        return "".join(f"{k} = {_toml_value(k, v)}\n" for k, v in data.items())
    raise ValueError(f"unknown config format {fmt!r}")
