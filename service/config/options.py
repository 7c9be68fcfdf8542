"""Channel options, namespaces, RPC namespaces and granular proxies
(docs/configuration.md#channel-options)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

__all__ = [
    "CHANNEL_OPTION_KEYS",
    "NAME_PATTERN",
    "NAME_RE",
    "PROXY_KEYS",
    "ChannelOptions",
    "NamespaceConfig",
    "ProxyConfig",
    "RpcNamespaceConfig",
]

NAME_PATTERN = r"^[-a-zA-Z0-9_.]{2,}$"
"""Pattern namespace, RPC namespace and proxy names must match."""
NAME_RE = re.compile(NAME_PATTERN)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelOptions:
    """Options of one namespace (or of channels without a namespace); v4.1.5 defaults.

    ``history_ttl`` is in seconds (whole seconds when loaded through :func:`load_config`).
    History is on when both ``history_size`` and ``history_ttl`` are non-zero.
    ``channel_regex`` is a regular expression the channel part after ``ns:`` must match (empty:
    no check). ``proxy_*`` select simple-mode proxies, ``*_proxy_name`` granular-mode ones.
    The last five options are Centrifugo v5/v6 ones (delta compression, tags filter, cache
    recovery mode; docs/beyond_v4.md): ``allowed_delta_types`` holds only ``"fossil"``,
    ``force_recovery_mode`` is ``""``, ``"stream"`` or ``"cache"``.
    """

    presence: bool = False
    join_leave: bool = False
    force_push_join_leave: bool = False
    history_size: int = 0
    history_ttl: float = 0.0
    force_positioning: bool = False
    allow_positioning: bool = False
    force_recovery: bool = False
    allow_recovery: bool = False
    allow_subscribe_for_client: bool = False
    allow_subscribe_for_anonymous: bool = False
    allow_publish_for_client: bool = False
    allow_publish_for_subscriber: bool = False
    allow_publish_for_anonymous: bool = False
    allow_presence_for_client: bool = False
    allow_presence_for_subscriber: bool = False
    allow_presence_for_anonymous: bool = False
    allow_history_for_client: bool = False
    allow_history_for_subscriber: bool = False
    allow_history_for_anonymous: bool = False
    allow_user_limited_channels: bool = False
    channel_regex: str = ""
    proxy_subscribe: bool = False
    proxy_publish: bool = False
    proxy_sub_refresh: bool = False
    subscribe_proxy_name: str = ""
    publish_proxy_name: str = ""
    sub_refresh_proxy_name: str = ""
    # beyond v4 (docs/beyond_v4.md#configuration): opt-in, off by default
    allowed_delta_types: tuple[str, ...] = ()
    delta_publish: bool = False
    allow_tags_filter: bool = False
    force_recovery_mode: str = ""
    auto_cache_recover: bool = False

    @property
    def history_enabled(self) -> bool:
        """True when both ``history_size`` and ``history_ttl`` are set."""
        return self.history_size > 0 and self.history_ttl > 0

    @property
    def cache_recovery(self) -> bool:
        """True when a recovering subscription gets only the newest publication."""
        return self.force_recovery_mode == "cache"


CHANNEL_OPTION_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ChannelOptions))
"""Every channel option key, in declaration order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NamespaceConfig:
    """One ``namespaces[]`` entry: ``name`` matches :data:`NAME_PATTERN` and is unique."""

    name: str
    options: ChannelOptions = dataclasses.field(default_factory=ChannelOptions)


@dataclass(frozen=True, slots=True, kw_only=True)
class RpcNamespaceConfig:
    """One ``rpc_namespaces[]`` entry (granular proxy mode)."""

    name: str
    rpc_proxy_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyConfig:
    """One ``proxies[]`` entry (granular proxy mode); ``timeout`` in seconds (default 1 s).

    An ``http://`` / ``https://`` endpoint means an HTTP proxy, anything else GRPC.
    """

    name: str
    endpoint: str
    timeout: float = 1.0
    http_headers: tuple[str, ...] = ()
    grpc_metadata: tuple[str, ...] = ()
    binary_encoding: bool = False
    include_connection_meta: bool = False
    grpc_cert_file: str = ""
    grpc_credentials_key: str = ""
    grpc_credentials_value: str = ""


PROXY_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ProxyConfig))
