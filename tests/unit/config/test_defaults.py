"""Defaults of service.config.Config match Centrifugo v4.1.5 (docs/protocol.md,
docs/configuration.md)."""

from __future__ import annotations

import dataclasses

import pytest

from service.config import ChannelOptions, Config, config_keys, load_config

EXPECTED = {
    "ping_interval": 25.0,
    "pong_timeout": 8.0,
    "client_channel_limit": 128,
    "client_queue_max_size": 1048576,
    "client_stale_close_delay": 10.0,
    "client_expired_close_delay": 25.0,
    "client_expired_sub_close_delay": 25.0,
    "client_presence_update_interval": 27.0,
    "client_channel_position_check_delay": 40.0,
    "client_history_max_publication_limit": 300,
    "client_recovery_max_publication_limit": 300,
    "client_user_connection_limit": 0,
    "client_connection_limit": 0,
    "client_connection_rate_limit": 0,
    "channel_max_length": 255,
    "history_meta_ttl": 2160 * 3600.0,
    "presence_ttl": 60.0,
    "port": 8000,
    "address": "",
    "internal_port": 0,
    "internal_address": "",
    "name": "",
    "engine": "memory",
    "broker": "",
    "log_level": "info",
    "log_format": "text",
    "shutdown_timeout": 30.0,
    "shutdown_termination_delay": 0.0,
    "node_info_metrics_aggregate_interval": 60.0,
    "allowed_origins": (),
    "grpc_api_port": 10000,
    "grpc_api_reflection": False,
    "grpc_api_max_receive_message_size": 0,
    "uni_grpc_port": 11000,
    "uni_grpc_max_receive_message_size": 65536,
    "grpc_stream": False,
    "grpc_stream_address": "",
    "grpc_stream_port": 11001,
    "grpc_stream_tls": False,
    "grpc_stream_tls_cert": "",
    "grpc_stream_tls_key": "",
    "grpc_stream_max_receive_message_size": 65536,
    "v5_api": False,
    "websocket_message_size_limit": 65536,
    "websocket_write_timeout": 1.0,
    "websocket_ping_interval": 25.0,
    "websocket_compression_level": 1,
    "uni_websocket_message_size_limit": 65536,
    "http_stream_max_request_body_size": 65536,
    "sse_max_request_body_size": 65536,
    "emulation_max_request_body_size": 65536,
    "uni_sse_max_request_body_size": 65536,
    "uni_http_stream_max_request_body_size": 65536,
    "sockjs_heartbeat_delay": 25.0,
    "channel_private_prefix": "$",
    "channel_namespace_boundary": ":",
    "channel_user_boundary": "#",
    "channel_user_separator": ",",
    "rpc_namespace_boundary": ":",
    "redis_address": ("redis://127.0.0.1:6379",),
    "redis_prefix": "centrifugo",
    "redis_db": 0,
    "redis_connect_timeout": 1.0,
    "redis_io_timeout": 4.0,
    "nats_prefix": "centrifugo",
    "proxy_connect_timeout": 1.0,
    "proxy_rpc_timeout": 1.0,
    "proxy_sub_refresh_timeout": 1.0,
    "tls_autocert_http_addr": ":80",
    "namespaces": (),
    "rpc_namespaces": (),
    "proxies": (),
    "websocket_handler_prefix": "/connection/websocket",
    "http_stream_handler_prefix": "/connection/http_stream",
    "sse_handler_prefix": "/connection/sse",
    "sockjs_handler_prefix": "/connection/sockjs",
    "webtransport_handler_prefix": "/connection/webtransport",
    "uni_websocket_handler_prefix": "/connection/uni_websocket",
    "uni_sse_handler_prefix": "/connection/uni_sse",
    "uni_http_stream_handler_prefix": "/connection/uni_http_stream",
    "emulation_handler_prefix": "/emulation",
    "api_handler_prefix": "/api",
    "health_handler_prefix": "/health",
    "prometheus_handler_prefix": "/metrics",
    "admin_handler_prefix": "",
}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_default(key: str) -> None:
    assert getattr(Config(), key) == EXPECTED[key]


def test_load_without_sources_gives_defaults() -> None:
    cfg, warnings = load_config(None, env={})
    assert cfg == Config()
    assert warnings == []


def test_channel_option_defaults_are_all_off() -> None:
    opts = ChannelOptions()
    for f in dataclasses.fields(ChannelOptions):
        assert getattr(opts, f.name) in (False, 0, 0.0, "", ()), f.name
    assert not opts.history_enabled


def test_channel_options_derived_from_top_level_keys() -> None:
    cfg = Config(presence=True, history_size=10, history_ttl=60.0, channel_regex="^a")
    assert cfg.channel_options == ChannelOptions(
        presence=True, history_size=10, history_ttl=60.0, channel_regex="^a"
    )
    again = dataclasses.replace(cfg, presence=False)
    assert again.channel_options.presence is False
    assert again.channel_options.history_size == 10


def test_config_keys_are_the_option_attributes() -> None:
    keys = config_keys()
    assert "channel_options" not in keys
    for f in dataclasses.fields(ChannelOptions):
        assert f.name in keys
    for key in EXPECTED:
        assert key in keys
    assert {f.name for f in dataclasses.fields(Config)} - keys == {"channel_options"}


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.port = 1  # type: ignore[misc]
