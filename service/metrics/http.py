"""``/metrics`` for aiohttp (``prometheus``, ``prometheus_handler_prefix``;
docs/configuration.md#endpoints-and-ports).

Serves the text exposition of one registry (:func:`service.metrics.exposition.render`, Go
counter names) with ``CONTENT_TYPE_LATEST``; gzip when the scraper accepts it, as the Go
``promhttp`` handler does.  Scraping runs on the event loop: the node gauges read in-memory
state and the process collector reads ``/proc``, both well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from .exposition import render

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def metrics_handler(registry: Collector) -> Handler:
    """An aiohttp handler answering any method with the exposition of ``registry``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.Response(
            body=render(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.enable_compression(web.ContentCoding.gzip)
        return response

    return handle
