"""TLS context of the HTTP listeners (``tls``, ``tls_cert``/``tls_key`` or their ``*_pem``).

``tls_client_ca`` / ``tls_client_ca_pem`` turn on mutual TLS: a client must present a
certificate signed by that CA, or the handshake fails (no HTTP response at all).  The gRPC
listeners that fall back to the general ``tls`` certificate get the same requirement
(``grpc_options``); listeners with their own ``*_tls`` use their own ``*_tls_client_ca``.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerTls:
    """A server certificate (files or inline PEM, PEM wins) and an optional client CA."""

    cert_file: str = ""
    key_file: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    client_ca_file: str = ""
    client_ca_pem: str = ""


@contextlib.contextmanager
def cert_files(tls: ServerTls) -> Iterator[tuple[str, str]]:
    """Paths of the certificate and key: inline PEM (which wins) goes to a temporary folder
    that exists only inside the ``with`` block (for loaders that take file names)."""
    if not (tls.cert_pem and tls.key_pem):
        yield tls.cert_file, tls.key_file
        return
    with tempfile.TemporaryDirectory() as d:
        cp, kp = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        with open(cp, "w") as f:
            f.write(tls.cert_pem)
        with open(kp, "w") as f:
            f.write(tls.key_pem)
        yield cp, kp


def server_ssl_context(tls: ServerTls) -> ssl.SSLContext:
    """The ``SSLContext`` of ``tls``; OSError naming the file that cannot be used (the
    ``ssl`` module's own errors name none: ``[Errno 2] No such file or directory``)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    inline = tls.cert_pem and tls.key_pem
    try:
        with cert_files(tls) as (cert, key):
            ctx.load_cert_chain(cert, key)
    except OSError as e:
        files = "inline PEM" if inline else f"{tls.cert_file!r}, key {tls.key_file!r}"
        raise OSError(f"cannot load the TLS certificate ({files}): {e}") from None
    if tls.client_ca_pem or tls.client_ca_file:
        try:
            if tls.client_ca_pem:
                ctx.load_verify_locations(cadata=tls.client_ca_pem)
            else:
                ctx.load_verify_locations(cafile=tls.client_ca_file)
        except OSError as e:
            source = "inline PEM" if tls.client_ca_pem else repr(tls.client_ca_file)
            raise OSError(f"cannot load the TLS client CA ({source}): {e}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
