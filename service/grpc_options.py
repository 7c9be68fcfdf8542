"""Config -> listener options for the gRPC servers (part of the composition root)."""

from __future__ import annotations

from .config import Config
from .servers.grpc import GrpcOptions, ListenerOptions, TlsOptions
from .servers.tls import ServerTls


def http_tls(cfg: Config) -> ServerTls:
    """The general ``tls_*`` certificate options (HTTP listeners and the gRPC fallback)."""
    return ServerTls(
        cert_file=cfg.tls_cert,
        key_file=cfg.tls_key,
        cert_pem=cfg.tls_cert_pem,
        key_pem=cfg.tls_key_pem,
        client_ca_file=cfg.tls_client_ca,
        client_ca_pem=cfg.tls_client_ca_pem,
    )


def grpc_options(cfg: Config) -> GrpcOptions:
    """``Config`` -> ``GrpcOptions`` (the same function goes into ``service/app.py``).

    TLS per listener (docs/server_api.md#grpc-api, docs/transports.md#grpc-streams): its own
    ``*_tls`` cert/key when set, otherwise the general ``tls`` certificate (with
    ``tls_client_ca``: mutual TLS) unless ``*_tls_disable``.
    """

    def general_tls(disable: bool) -> TlsOptions | None:
        if cfg.tls and not disable and (cfg.tls_cert or cfg.tls_cert_pem):
            return http_tls(cfg)
        return None

    api_tls = (
        TlsOptions(
            cert_file=cfg.grpc_api_tls_cert,
            key_file=cfg.grpc_api_tls_key,
            cert_pem=cfg.grpc_api_tls_cert_pem,
            key_pem=cfg.grpc_api_tls_key_pem,
            client_ca_file=cfg.grpc_api_tls_client_ca,
            client_ca_pem=cfg.grpc_api_tls_client_ca_pem,
        )
        if cfg.grpc_api_tls
        else general_tls(cfg.grpc_api_tls_disable)
    )
    uni_tls = (
        TlsOptions(
            cert_file=cfg.uni_grpc_tls_cert,
            key_file=cfg.uni_grpc_tls_key,
            cert_pem=cfg.uni_grpc_tls_cert_pem,
            key_pem=cfg.uni_grpc_tls_key_pem,
            client_ca_file=cfg.uni_grpc_tls_client_ca,
            client_ca_pem=cfg.uni_grpc_tls_client_ca_pem,
        )
        if cfg.uni_grpc_tls
        else general_tls(cfg.uni_grpc_tls_disable)
    )
    stream_tls = (
        TlsOptions(cert_file=cfg.grpc_stream_tls_cert, key_file=cfg.grpc_stream_tls_key)
        if cfg.grpc_stream_tls
        else general_tls(False)
    )
    return GrpcOptions(
        api=ListenerOptions(
            enabled=cfg.grpc_api,
            address=cfg.grpc_api_address,
            port=cfg.grpc_api_port,
            tls=api_tls,
            max_receive_message_size=cfg.grpc_api_max_receive_message_size,
        ),
        api_key=cfg.grpc_api_key,
        api_reflection=cfg.grpc_api_reflection,
        uni=ListenerOptions(
            enabled=cfg.uni_grpc,
            address=cfg.uni_grpc_address,
            port=cfg.uni_grpc_port,
            tls=uni_tls,
            max_receive_message_size=cfg.uni_grpc_max_receive_message_size,
        ),
        stream=ListenerOptions(
            enabled=cfg.grpc_stream,
            address=cfg.grpc_stream_address,
            port=cfg.grpc_stream_port,
            tls=stream_tls,
            max_receive_message_size=cfg.grpc_stream_max_receive_message_size,
        ),
        connection_limit=cfg.client_connection_limit,
        connection_rate_limit=cfg.client_connection_rate_limit,
    )
