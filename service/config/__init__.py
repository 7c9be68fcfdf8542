"""Centrifugo v4.1.5 compatible configuration (docs/configuration.md#sources-and-precedence).

Leaf layer: imports no other ``service`` subpackage. Public API::

    from service.config import (Config, ChannelOptions, NamespaceConfig, RpcNamespaceConfig,
                                ProxyConfig, ConfigError, load_config, parse_duration,
                                config_keys)

* :func:`load_config` - file (JSON/YAML/TOML) < ``CENTRIFUGO_*`` env < flags, validated.
* :class:`Config` - one attribute per option key; durations in float seconds.
* :func:`config_to_dict` - JSON-able dump with Go duration strings.
* :func:`validate_config` - the validation :func:`load_config` runs, for hand-built configs.
"""

from service.config.dump import config_to_dict
from service.config.durations import format_duration, parse_bool, parse_duration
from service.config.errors import ConfigError
from service.config.loader import config_keys, env_var, load_config
from service.config.model import Config
from service.config.options import (
    ChannelOptions,
    NamespaceConfig,
    ProxyConfig,
    RpcNamespaceConfig,
)
from service.config.sources import file_format, render_config
from service.config.validate import validate_config

__all__ = [
    "ChannelOptions",
    "Config",
    "ConfigError",
    "NamespaceConfig",
    "ProxyConfig",
    "RpcNamespaceConfig",
    "config_keys",
    "config_to_dict",
    "env_var",
    "file_format",
    "format_duration",
    "load_config",
    "parse_bool",
    "parse_duration",
    "render_config",
    "validate_config",
]
