"""Client TLS settings shared by the engines (Redis and NATS connections)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TLSOptions:
    """Client TLS of an engine connection (Centrifugo ``redis_tls*``, ``redis_sentinel_tls*``,
    ``nats_tls*``).

    ``*_file`` are paths, ``*_pem`` inline PEM text; ``insecure_skip_verify`` disables both
    certificate and host name checks; ``server_name`` overrides the SNI / checked host name.
    """

    enabled: bool = False
    cert_file: str = ""
    key_file: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    root_ca_file: str = ""
    root_ca_pem: str = ""
    server_name: str = ""
    insecure_skip_verify: bool = False

    def context(self) -> ssl.SSLContext:
        """Build an ``SSLContext`` (raises ``OSError``/``ssl.SSLError`` on bad files)."""
        ctx = ssl.create_default_context(
            cafile=self.root_ca_file or None, cadata=self.root_ca_pem or None
        )
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file or None)
        elif self.cert_pem:
            _load_pem_chain(ctx, self.cert_pem, self.key_pem)
        return ctx


def _load_pem_chain(ctx: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """``load_cert_chain`` only takes paths: write the PEM text to private temp files."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cert = os.path.join(tmp, "cert.pem")
        key = os.path.join(tmp, "key.pem")
        with open(os.open(cert, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(cert_pem)
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(key_pem or cert_pem)
        ctx.load_cert_chain(cert, key)
