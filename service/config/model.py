"""The :class:`Config` dataclass: one attribute per Centrifugo v4.1.5 option
(docs/configuration.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from service.config.options import (
    CHANNEL_OPTION_KEYS,
    ChannelOptions,
    NamespaceConfig,
    ProxyConfig,
    RpcNamespaceConfig,
)

__all__ = ["Config"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Complete server configuration with Centrifugo v4.1.5 defaults.

    Contract:

    * Every attribute except ``channel_options`` is named exactly like its option key.
    * Durations are float seconds; ports are int (``internal_port`` 0 = same as ``port``,
      ``internal_address`` "" = same as ``address``); list options are tuples of str.
    * Handler prefixes are kept as configured (Centrifugo right-trims ``/``; "" means ``/``).
    * ``channel_options`` is derived (never passed to the constructor) from the top-level
      channel option attributes (``presence``, ``history_size``, ...): the options of channels
      without a namespace. It is recomputed by ``dataclasses.replace``.
    * ``name`` "" means "not set": the caller computes ``<hostname>_<port>``.
    * Instances built directly are not validated; :func:`service.config.load_config` validates
      (see also :func:`service.config.validate_config`).
    """

    # --- core / HTTP server --------------------------------------------------------------
    name: str = ""
    engine: str = "memory"
    broker: str = ""
    gomaxprocs: int = 0
    log_level: str = "info"
    log_file: str = ""
    log_format: str = "text"
    pid_file: str = ""
    debug: bool = False
    prometheus: bool = False
    health: bool = False
    usage_stats_disable: bool = False
    shutdown_timeout: float = 30.0
    shutdown_termination_delay: float = 0.0
    node_info_metrics_aggregate_interval: float = 60.0
    address: str = ""
    port: int = 8000
    internal_address: str = ""
    internal_port: int = 0
    allowed_origins: tuple[str, ...] = ()
    http3: bool = False
    # --- TLS -----------------------------------------------------------------------------
    tls: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    tls_cert_pem: str = ""
    tls_key_pem: str = ""
    tls_root_ca: str = ""
    tls_root_ca_pem: str = ""
    tls_client_ca: str = ""
    tls_client_ca_pem: str = ""
    tls_server_name: str = ""
    tls_insecure_skip_verify: bool = False
    tls_external: bool = False
    tls_autocert: bool = False
    tls_autocert_host_whitelist: str = ""
    tls_autocert_cache_dir: str = ""
    tls_autocert_email: str = ""
    tls_autocert_server_name: str = ""
    tls_autocert_force_rsa: bool = False
    tls_autocert_http: bool = False
    tls_autocert_http_addr: str = ":80"
    # --- authentication / tokens ---------------------------------------------------------
    token_hmac_secret_key: str = ""
    token_rsa_public_key: str = ""
    token_ecdsa_public_key: str = ""
    token_jwks_public_endpoint: str = ""
    token_audience: str = ""
    token_audience_regex: str = ""
    token_issuer: str = ""
    token_issuer_regex: str = ""
    allow_anonymous_connect_without_token: bool = False
    disallow_anonymous_connection_tokens: bool = False
    client_insecure: bool = False
    skip_user_check_in_subscription_token: bool = False
    # --- server API / admin --------------------------------------------------------------
    api_key: str = ""
    api_insecure: bool = False
    api_external: bool = False
    api_disable: bool = False
    v5_api: bool = False
    grpc_api: bool = False
    grpc_api_address: str = ""
    grpc_api_port: int = 10000
    grpc_api_key: str = ""
    grpc_api_reflection: bool = False
    grpc_api_max_receive_message_size: int = 0
    grpc_api_tls: bool = False
    grpc_api_tls_cert: str = ""
    grpc_api_tls_key: str = ""
    grpc_api_tls_cert_pem: str = ""
    grpc_api_tls_key_pem: str = ""
    grpc_api_tls_root_ca: str = ""
    grpc_api_tls_root_ca_pem: str = ""
    grpc_api_tls_client_ca: str = ""
    grpc_api_tls_client_ca_pem: str = ""
    grpc_api_tls_server_name: str = ""
    grpc_api_tls_insecure_skip_verify: bool = False
    grpc_api_tls_disable: bool = False
    admin: bool = False
    admin_password: str = ""
    admin_secret: str = ""
    admin_insecure: bool = False
    admin_external: bool = False
    admin_web_path: str = ""
    admin_web_proxy_address: str = ""
    # --- client behaviour ----------------------------------------------------------------
    client_stale_close_delay: float = 10.0
    client_expired_close_delay: float = 25.0
    client_expired_sub_close_delay: float = 25.0
    client_channel_limit: int = 128
    client_queue_max_size: int = 1048576
    client_presence_update_interval: float = 27.0
    client_user_connection_limit: int = 0
    client_concurrency: int = 0
    client_channel_position_check_delay: float = 40.0
    client_connection_limit: int = 0
    client_connection_rate_limit: int = 0
    client_history_max_publication_limit: int = 300
    client_recovery_max_publication_limit: int = 300
    channel_max_length: int = 255
    ping_interval: float = 25.0
    pong_timeout: float = 8.0
    use_client_protocol_v1_by_default: bool = False
    disable_client_protocol_v1: bool = False
    # --- channels / users / RPC ----------------------------------------------------------
    channel_private_prefix: str = "$"
    channel_namespace_boundary: str = ":"
    channel_user_boundary: str = "#"
    channel_user_separator: str = ","
    rpc_namespace_boundary: str = ":"
    user_subscribe_to_personal: bool = False
    user_personal_channel_namespace: str = ""
    user_personal_single_connection: bool = False
    namespaces: tuple[NamespaceConfig, ...] = ()
    rpc_namespaces: tuple[RpcNamespaceConfig, ...] = ()
    # --- channel options of channels without namespace (see ChannelOptions) --------------
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
    allowed_delta_types: tuple[str, ...] = ()
    delta_publish: bool = False
    allow_tags_filter: bool = False
    force_recovery_mode: str = ""
    auto_cache_recover: bool = False
    # how long an API publish's idempotency_key is remembered (docs/beyond_v4.md)
    idempotent_result_ttl: float = 300.0
    # --- bidirectional transports --------------------------------------------------------
    websocket_disable: bool = False
    websocket_compression: bool = False
    websocket_compression_min_size: int = 0
    websocket_compression_level: int = 1
    websocket_read_buffer_size: int = 0
    websocket_write_buffer_size: int = 0
    websocket_use_write_buffer_pool: bool = False
    websocket_ping_interval: float = 25.0
    websocket_write_timeout: float = 1.0
    websocket_message_size_limit: int = 65536
    http_stream: bool = False
    http_stream_max_request_body_size: int = 65536
    sse: bool = False
    sse_max_request_body_size: int = 65536
    emulation_max_request_body_size: int = 65536
    sockjs: bool = False
    sockjs_url: str = "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js"
    sockjs_heartbeat_delay: float = 25.0
    webtransport: bool = False
    # --- unidirectional transports -------------------------------------------------------
    uni_websocket: bool = False
    uni_websocket_compression: bool = False
    uni_websocket_compression_min_size: int = 0
    uni_websocket_compression_level: int = 1
    uni_websocket_read_buffer_size: int = 0
    uni_websocket_write_buffer_size: int = 0
    uni_websocket_use_write_buffer_pool: bool = False
    uni_websocket_ping_interval: float = 25.0
    uni_websocket_write_timeout: float = 1.0
    uni_websocket_message_size_limit: int = 65536
    uni_sse: bool = False
    uni_sse_max_request_body_size: int = 65536
    uni_http_stream: bool = False
    uni_http_stream_max_request_body_size: int = 65536
    uni_grpc: bool = False
    uni_grpc_address: str = ""
    uni_grpc_port: int = 11000
    uni_grpc_max_receive_message_size: int = 65536
    uni_grpc_tls: bool = False
    uni_grpc_tls_cert: str = ""
    uni_grpc_tls_key: str = ""
    uni_grpc_tls_cert_pem: str = ""
    uni_grpc_tls_key_pem: str = ""
    uni_grpc_tls_root_ca: str = ""
    uni_grpc_tls_root_ca_pem: str = ""
    uni_grpc_tls_client_ca: str = ""
    uni_grpc_tls_client_ca_pem: str = ""
    uni_grpc_tls_server_name: str = ""
    uni_grpc_tls_insecure_skip_verify: bool = False
    uni_grpc_tls_disable: bool = False
    # --- bidirectional GRPC stream (gyre extension) --------------------------------------
    grpc_stream: bool = False
    grpc_stream_address: str = ""
    grpc_stream_port: int = 11001
    grpc_stream_tls: bool = False
    grpc_stream_tls_cert: str = ""
    grpc_stream_tls_key: str = ""
    grpc_stream_max_receive_message_size: int = 65536
    # --- handler prefixes (docs/configuration.md#endpoints-and-ports) ---------------------
    websocket_handler_prefix: str = "/connection/websocket"
    webtransport_handler_prefix: str = "/connection/webtransport"
    sockjs_handler_prefix: str = "/connection/sockjs"
    http_stream_handler_prefix: str = "/connection/http_stream"
    sse_handler_prefix: str = "/connection/sse"
    uni_websocket_handler_prefix: str = "/connection/uni_websocket"
    uni_sse_handler_prefix: str = "/connection/uni_sse"
    uni_http_stream_handler_prefix: str = "/connection/uni_http_stream"
    emulation_handler_prefix: str = "/emulation"
    admin_handler_prefix: str = ""
    api_handler_prefix: str = "/api"
    prometheus_handler_prefix: str = "/metrics"
    health_handler_prefix: str = "/health"
    # --- engine: Redis -------------------------------------------------------------------
    redis_address: tuple[str, ...] = ("redis://127.0.0.1:6379",)
    redis_password: str = ""
    redis_user: str = ""
    redis_db: int = 0
    redis_prefix: str = "centrifugo"
    redis_connect_timeout: float = 1.0
    redis_io_timeout: float = 4.0
    redis_use_lists: bool = False
    redis_force_resp2: bool = False
    redis_client_name: str = ""
    redis_tls: bool = False
    redis_tls_cert: str = ""
    redis_tls_key: str = ""
    redis_tls_cert_pem: str = ""
    redis_tls_key_pem: str = ""
    redis_tls_root_ca: str = ""
    redis_tls_root_ca_pem: str = ""
    redis_tls_client_ca: str = ""
    redis_tls_client_ca_pem: str = ""
    redis_tls_server_name: str = ""
    redis_tls_insecure_skip_verify: bool = False
    redis_cluster_address: tuple[str, ...] = ()
    redis_sentinel_address: tuple[str, ...] = ()
    redis_sentinel_master_name: str = ""
    redis_sentinel_password: str = ""
    redis_sentinel_user: str = ""
    redis_sentinel_client_name: str = ""
    redis_sentinel_tls: bool = False
    redis_sentinel_tls_cert: str = ""
    redis_sentinel_tls_key: str = ""
    redis_sentinel_tls_cert_pem: str = ""
    redis_sentinel_tls_key_pem: str = ""
    redis_sentinel_tls_root_ca: str = ""
    redis_sentinel_tls_root_ca_pem: str = ""
    redis_sentinel_tls_client_ca: str = ""
    redis_sentinel_tls_client_ca_pem: str = ""
    redis_sentinel_tls_server_name: str = ""
    redis_sentinel_tls_insecure_skip_verify: bool = False
    history_meta_ttl: float = 7776000.0  # 2160h
    presence_ttl: float = 60.0
    # --- NATS broker (broker: nats) / Tarantool engine (rejected by validation) ----------
    nats_url: str = "nats://127.0.0.1:4222"
    nats_prefix: str = "centrifugo"
    nats_dial_timeout: float = 1.0
    nats_write_timeout: float = 1.0
    # NATS client TLS and credentials (Gyre; v4 reads TLS and credentials from nats_url only)
    nats_tls: bool = False
    nats_tls_cert: str = ""
    nats_tls_key: str = ""
    nats_tls_cert_pem: str = ""
    nats_tls_key_pem: str = ""
    nats_tls_root_ca: str = ""
    nats_tls_root_ca_pem: str = ""
    nats_tls_server_name: str = ""
    nats_tls_insecure_skip_verify: bool = False
    nats_credentials_file: str = ""
    tarantool_address: tuple[str, ...] = ("tcp://127.0.0.1:3301",)
    tarantool_mode: str = "standalone"
    tarantool_user: str = ""
    tarantool_password: str = ""
    # --- Graphite ------------------------------------------------------------------------
    graphite: bool = False
    graphite_host: str = "localhost"
    graphite_port: int = 2003
    graphite_prefix: str = "centrifugo"
    graphite_interval: float = 10.0
    graphite_tags: bool = False
    # --- proxy (docs/configuration.md#channel-options) ------------------------------------
    proxy_connect_endpoint: str = ""
    proxy_refresh_endpoint: str = ""
    proxy_subscribe_endpoint: str = ""
    proxy_publish_endpoint: str = ""
    proxy_sub_refresh_endpoint: str = ""
    proxy_rpc_endpoint: str = ""
    proxy_connect_timeout: float = 1.0
    proxy_refresh_timeout: float = 1.0
    proxy_subscribe_timeout: float = 1.0
    proxy_publish_timeout: float = 1.0
    proxy_sub_refresh_timeout: float = 1.0
    proxy_rpc_timeout: float = 1.0
    proxy_http_headers: tuple[str, ...] = ()
    proxy_grpc_metadata: tuple[str, ...] = ()
    proxy_binary_encoding: bool = False
    proxy_include_connection_meta: bool = False
    proxy_grpc_cert_file: str = ""
    proxy_grpc_credentials_key: str = ""
    proxy_grpc_credentials_value: str = ""
    # Gyre: connections each HTTP proxy backend (scheme, host, port) may hold at once
    proxy_http_pool_size: int = 64
    granular_proxy_mode: bool = False
    proxies: tuple[ProxyConfig, ...] = ()
    connect_proxy_name: str = ""
    refresh_proxy_name: str = ""
    rpc_proxy_name: str = ""
    # --- derived -------------------------------------------------------------------------
    channel_options: ChannelOptions = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        opts = ChannelOptions(**{k: getattr(self, k) for k in CHANNEL_OPTION_KEYS})
        object.__setattr__(self, "channel_options", opts)

    def namespace(self, name: str) -> NamespaceConfig | None:
        """The namespace called ``name``, or None."""
        for ns in self.namespaces:
            if ns.name == name:
                return ns
        return None
