"""Options the core needs, passed in by the composition root (never the whole config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Client-protocol behaviour options; defaults are Centrifugo v4.1.5's (docs/protocol.md)."""

    name: str = ""
    version: str = "0.0.0"
    ping_interval: float = 25.0
    pong_timeout: float = 8.0
    client_stale_close_delay: float = 10.0
    client_expired_close_delay: float = 25.0
    client_expired_sub_close_delay: float = 25.0
    client_presence_update_interval: float = 27.0
    client_channel_position_check_delay: float = 40.0
    client_channel_limit: int = 128
    client_user_connection_limit: int = 0
    client_queue_max_size: int = 1048576
    client_history_max_publication_limit: int = 300
    client_recovery_max_publication_limit: int = 300
    channel_max_length: int = 255
    node_info_interval: float = 3.0
