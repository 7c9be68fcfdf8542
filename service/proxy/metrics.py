"""How the proxies report calls; ``service.metrics.Metrics`` implements it structurally."""

from __future__ import annotations

from typing import Protocol

#: Outcomes of a proxy call: the backend answered with a ``result``, with nothing (``empty``),
#: with an ``error`` or a ``disconnect``; or gave no valid answer (``failure``).
OUTCOMES = ("result", "empty", "error", "disconnect", "failure")


class ProxyMetrics(Protocol):
    def proxy_call(self, kind: str, protocol: str, name: str, outcome: str, seconds: float) -> None:
        """One call of proxy type ``kind`` (``connect``...) over ``protocol`` (``http`` or
        ``grpc``) to the granular proxy ``name`` ("" in simple mode), ending in ``outcome``
        after ``seconds``.  Must be cheap (called on the connect path)."""
        ...


class NullProxyMetrics:
    def proxy_call(self, kind: str, protocol: str, name: str, outcome: str, seconds: float) -> None:
        pass
