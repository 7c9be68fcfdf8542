"""Owner of the proxies' network resources: HTTP sessions and gRPC channels.

One keep-alive ``aiohttp.ClientSession`` per HTTP backend (scheme, host and port: the
endpoints of one backend share its connection pool) and one ``grpc.aio`` channel per gRPC
endpoint (target, TLS roots and credentials).  They are made when the proxies are built (at
start-up, or on SIGHUP for a new endpoint), shared by every proxy that uses them, kept across
reloads while still used, and closed when no longer used (after in-flight calls had time to
finish) or at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
import grpc

from ..config import ProxyConfig
from .grpc import GrpcTransport, new_channel
from .http import HttpTransport, new_session
from .settings import protocol_of
from .transport import ProxyTransport

log = logging.getLogger("gyre.proxy")

HttpKey = tuple[str, int]  # (origin, pool size)
GrpcKey = tuple[str, str, str, str]  # (endpoint, cert file, credentials key, value)
Key = HttpKey | GrpcKey


def key_of(s: ProxyConfig, pool_size: int) -> Key:
    """The resource ``s`` uses: its HTTP origin and pool size, or its gRPC channel identity."""
    if protocol_of(s.endpoint) == "http":
        u = urlsplit(s.endpoint)
        return (f"{u.scheme}://{u.netloc.rsplit('@', 1)[-1]}".lower(), pool_size)
    return (s.endpoint, s.grpc_cert_file, s.grpc_credentials_key, s.grpc_credentials_value)


class Connections:
    """Creates, shares and closes the sessions and channels (one event loop only)."""

    def __init__(self) -> None:
        self._http: dict[Key, aiohttp.ClientSession] = {}
        self._grpc: dict[Key, GrpcTransport] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def transport(self, s: ProxyConfig, pool_size: int = 64) -> ProxyTransport:
        """The transport for ``s``; creates its session or channel when new.  ``pool_size``:
        connections an HTTP backend may hold (``proxy_http_pool_size``).

        Raises OSError when a gRPC ``grpc_cert_file`` cannot be read.
        """
        key = key_of(s, pool_size)
        if protocol_of(s.endpoint) == "http":
            session = self._http.get(key)
            if session is None:
                session = self._http[key] = new_session(pool_size)
            return HttpTransport(s.endpoint, session)
        t = self._grpc.get(key)
        if t is None:
            channel = new_channel(s.endpoint, s.grpc_cert_file)
            t = self._grpc[key] = GrpcTransport(
                channel,
                credentials_key=s.grpc_credentials_key,
                credentials_value=s.grpc_credentials_value,
            )
        return t

    def http_sessions(self) -> int:
        return len(self._http)

    def prune(self, keep: Iterable[Key], grace: float) -> None:
        """Close, ``grace`` seconds from now, every resource whose key is not in ``keep``."""
        keep = set(keep)
        for table in (self._http, self._grpc):
            for key in [k for k in table if k not in keep]:
                resource = table.pop(key)
                task = asyncio.get_running_loop().create_task(self._close_later(resource, grace))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def _close_later(
        self, resource: aiohttp.ClientSession | GrpcTransport, grace: float
    ) -> None:
        try:
            await asyncio.sleep(grace)
        finally:
            await _close(resource)

    async def close(self) -> None:
        """Close everything now (shutdown); pending delayed closes run at once."""
        for task in list(self._closing):
            task.cancel()
        for task in list(self._closing):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        resources: list[aiohttp.ClientSession | GrpcTransport] = [
            *self._http.values(),
            *self._grpc.values(),
        ]
        self._http.clear()
        self._grpc.clear()
        for r in resources:
            await _close(r)


async def _close(resource: aiohttp.ClientSession | GrpcTransport) -> None:
    try:
        if isinstance(resource, GrpcTransport):
            await resource.channel.close()
        else:
            await resource.close()
    except (OSError, grpc.RpcError, RuntimeError) as e:
        log.debug("proxy: closing %r failed: %s", resource, e)
