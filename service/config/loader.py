"""``load_config``: defaults < config file < environment < flags, then validation
(docs/configuration.md#sources-and-precedence)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from service.config.coerce import CONFIG_KINDS, Kind, coerce
from service.config.errors import ConfigError
from service.config.model import Config
from service.config.nested import parse_namespaces, parse_proxies, parse_rpc_namespaces
from service.config.sources import read_config_file
from service.config.validate import validate_config

__all__ = ["ENV_PREFIX", "config_keys", "env_var", "load_config"]

ENV_PREFIX = "CENTRIFUGO_"
_KEYS = frozenset(CONFIG_KINDS)


def config_keys() -> frozenset[str]:
    """Every known top-level option key (the :class:`Config` attributes except
    ``channel_options``)."""
    return _KEYS


def env_var(key: str) -> str:
    """The environment variable of option ``key``: ``CENTRIFUGO_`` + upper-cased key."""
    return ENV_PREFIX + key.upper()


def _value(key: str, kind: Kind, raw: Any, warnings: list[str], origin: str) -> Any:
    if kind == "namespaces":
        return parse_namespaces(raw, warnings, origin, key)
    if kind == "rpc_namespaces":
        return parse_rpc_namespaces(raw, warnings, origin, key)
    if kind == "proxies":
        return parse_proxies(raw, warnings, origin, key)
    return coerce(key, kind, raw)


def load_config(
    path: str | None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> tuple[Config, list[str]]:
    """Build and validate the configuration; return it with a list of warning strings.

    * ``path``: JSON/YAML/TOML file chosen by extension; None = no file. A missing file gives
      the warning ``config file "<path>" not found, using defaults``; unknown top-level keys
      give ``unknown key "x" in config file``. A ``null`` value means "not set".
    * ``env``: defaults to ``os.environ``. Only ``CENTRIFUGO_<KEY>`` variables of known keys
      are read; an empty variable counts as unset. Strings are typed as documented in
      :mod:`service.config.coerce` (Go ParseBool, space-separated arrays, durations; plain
      numbers are seconds); ``namespaces``, ``rpc_namespaces`` and ``proxies`` are JSON.
    * ``flags``: option key → value given on the command line (strings are parsed like
      environment values, other values like file values). Unknown keys raise ConfigError.
    * Precedence: flags > env > file > defaults.

    Raises ConfigError (one line naming the key) on a parse, type or validation error.
    """
    warnings: list[str] = []
    values: dict[str, Any] = {}
    if path:
        data = read_config_file(path)
        if data is None:
            warnings.append(f'config file "{path}" not found, using defaults')
        else:
            for key, raw in data.items():
                kind = CONFIG_KINDS.get(key)
                if kind is None:
                    warnings.append(f'unknown key "{key}" in config file')
                elif raw is not None:
                    values[key] = _value(key, kind, raw, warnings, "config file")

    environ: Mapping[str, str] = os.environ if env is None else env
    for key, kind in CONFIG_KINDS.items():
        var = env_var(key)
        text = environ.get(var)
        if not text:
            continue
        try:
            values[key] = _value(key, kind, text, warnings, f"environment variable {var}")
        except ConfigError as e:
            raise ConfigError(f"{e} (from environment variable {var})") from None

    for key, raw in (flags or {}).items():
        kind = CONFIG_KINDS.get(key)
        if kind is None:
            raise ConfigError(f"{key}: unknown option (command-line flag)")
        try:
            values[key] = _value(key, kind, raw, warnings, "command-line flags")
        except ConfigError as e:
            raise ConfigError(f"{e} (from command-line flag --{key})") from None

    cfg = Config(**values)
    validate_config(cfg)
    return cfg, warnings
