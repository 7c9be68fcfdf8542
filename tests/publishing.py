"""``publish_one``: a single publish through the one publish call (``Broker.publish`` /
``Node.publish`` take a list; a single publish is the one-item case)."""

from __future__ import annotations

from typing import Any

from service.core.engine import Publication, PublishOptions, StreamPosition


async def publish_one(
    target: Any, channel: str, pub: Publication | bytes, opts: PublishOptions
) -> StreamPosition | None:
    """Publish ``pub`` (a Publication, or data bytes) on a broker or a node; return its
    position (None without history) or raise the exception it failed with."""
    if isinstance(pub, bytes):
        pub = Publication(pub)
    [outcome] = await target.publish(channel, [pub], opts)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome  # type: ignore[no-any-return]
