"""The proxies of a configuration as ``ProxyConfig`` entries, in both modes (docs/proxy.md).

Simple mode: one proxy per type whose ``proxy_<type>_endpoint`` is set, named after the type,
with ``proxy_<type>_timeout`` and the shared ``proxy_http_headers``, ``proxy_grpc_metadata``,
``proxy_binary_encoding``, ``proxy_include_connection_meta`` and ``proxy_grpc_*`` options.
Granular mode: the ``proxies`` entries as they are.  Header and metadata names come out in
lower case, without the hop-by-hop ones.
"""

from __future__ import annotations

import dataclasses

from ..config import Config, ProxyConfig
from .messages import KINDS

#: Headers never copied from a client's request, whatever ``proxy_http_headers`` says: they
#: describe the client's own HTTP message, not the proxy call.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-length",
        "content-type",
        "host",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def protocol_of(endpoint: str) -> str:
    """``http`` for ``http://`` and ``https://`` endpoints, otherwise ``grpc``."""
    return "http" if endpoint.startswith(("http://", "https://")) else "grpc"


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower() for v in values if v.lower() not in HOP_BY_HOP)


def proxy_settings(cfg: Config) -> dict[str, ProxyConfig]:
    """Name -> settings of every configured proxy (the type name in simple mode)."""
    if cfg.granular_proxy_mode:
        found = {p.name: p for p in cfg.proxies}
    else:
        found = {
            kind.name: ProxyConfig(
                name=kind.name,
                endpoint=getattr(cfg, f"proxy_{kind.name}_endpoint"),
                timeout=getattr(cfg, f"proxy_{kind.name}_timeout"),
                http_headers=cfg.proxy_http_headers,
                grpc_metadata=cfg.proxy_grpc_metadata,
                binary_encoding=cfg.proxy_binary_encoding,
                include_connection_meta=cfg.proxy_include_connection_meta,
                grpc_cert_file=cfg.proxy_grpc_cert_file,
                grpc_credentials_key=cfg.proxy_grpc_credentials_key,
                grpc_credentials_value=cfg.proxy_grpc_credentials_value,
            )
            for kind in KINDS
            if getattr(cfg, f"proxy_{kind.name}_endpoint")
        }
    return {
        name: dataclasses.replace(
            p, http_headers=_names(p.http_headers), grpc_metadata=_names(p.grpc_metadata)
        )
        for name, p in found.items()
    }
