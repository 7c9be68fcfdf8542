"""Recovery of a subscription that asked for it (docs/protocol.md#positioning-and-recovery):
v4 stream recovery, or cache recovery in a namespace with ``force_recovery_mode: "cache"``;
both honour a tags filter and encode recovered publications for a delta subscription
(docs/beyond_v4.md#cache-recovery, docs/beyond_v4.md#recovery-with-delta).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import codes as c
from ..protocol import messages as m
from .delta import recovered_publications
from .engine import HistoryQuery, Publication, StreamPosition
from .state import IN_ORDER, continuity
from .subscription import ChannelSub
from .wire import require_json, wire_publication

if TYPE_CHECKING:
    from .client import ClientSession


async def recover(
    client: ClientSession,
    sub: ChannelSub,
    result: m.SubscribeResult,
    since: StreamPosition,
    meta_ttl: float,
) -> None:
    """Fill ``result`` (``recovered``, position, publications) and place ``sub`` at the stream
    top.  Raises ReplyError(112) for a failed stream recovery when the subscribe asked to
    reject it (flag 2), disconnect 3506 when a JSON client would get non-JSON publications."""
    node = client.node
    node.metrics.inc_action("history_recover")
    limit = node.config.client_recovery_max_publication_limit
    opts = sub.options
    if opts.cache_recovery:
        recovered, pubs = await _recover_cache(client, sub, result, since, meta_ttl, limit)
    else:
        recovered, pubs = await _recover_stream(client, sub, result, since, meta_ttl, limit)
        if not recovered and opts.reject_unrecovered:
            node.observe_recover(False)
            raise c.ReplyError(c.ERROR_UNRECOVERABLE_POSITION)
    result.was_recovering = True
    result.recovered = recovered
    if recovered and pubs:
        require_json(client.transport.codec, pubs=pubs)
        if opts.delta:
            binary = client.transport.codec.binary
            result.publications = recovered_publications(pubs, binary=binary)
            sub.delta_base = pubs[-1].offset
            node.hub.delta_seen(sub.channel, pubs[-1], StreamPosition(sub.offset, sub.epoch))
        else:
            result.publications = [wire_publication(p) for p in pubs]
    node.observe_recover(recovered)


async def _recover_stream(
    client: ClientSession,
    sub: ChannelSub,
    result: m.SubscribeResult,
    since: StreamPosition,
    meta_ttl: float,
    limit: int,
) -> tuple[bool, list[Publication]]:
    """v4 recovery: the missed publications, when all of them are still there (a tags filter
    then keeps the matching ones; ``recovered`` is decided on the unfiltered stream)."""
    hist = await client.node.broker.history(
        sub.channel,
        HistoryQuery(
            since=StreamPosition(since.offset, since.epoch),
            limit=limit + 1 if limit > 0 else -1,
            meta_ttl=meta_ttl,
        ),
    )
    top = hist.position
    pubs = hist.publications
    # an empty request epoch accepts the stream's (SDKs may omit it)
    epoch = since.epoch or top.epoch
    if not pubs:
        recovered = epoch == top.epoch and top.offset == since.offset
    else:
        recovered = (
            continuity(since.offset, epoch, pubs[0].offset, top.epoch) is IN_ORDER
            and pubs[-1].offset == top.offset
            and (limit <= 0 or len(pubs) <= limit)
        )
    sub.place(top)
    if recovered:
        result.offset = since.offset
        result.epoch = since.epoch
        flt = sub.options.tags_filter
        if flt is not None:
            pubs = [p for p in pubs if flt.match(p.tags)]
        return True, pubs
    result.offset = top.offset
    result.epoch = top.epoch
    return False, []


async def _recover_cache(
    client: ClientSession,
    sub: ChannelSub,
    result: m.SubscribeResult,
    since: StreamPosition,
    meta_ttl: float,
    limit: int,
) -> tuple[bool, list[Publication]]:
    """Cache mode: the newest publication (matching the tags filter, among the newest
    ``limit``) unless the client already has it; recovered whenever there is one, the result
    carrying the request offset and the current epoch."""
    flt = sub.options.tags_filter
    hist = await client.node.broker.history(
        sub.channel,
        HistoryQuery(limit=1 if flt is None else max(limit, 1), reverse=True, meta_ttl=meta_ttl),
    )
    top = hist.position
    sub.place(top)
    up_to_date = since.offset > 0 and since.offset == top.offset and since.epoch == top.epoch
    newest = hist.publications
    if flt is not None:
        newest = [p for p in newest if flt.match(p.tags)][:1]
    if not newest and not up_to_date:
        result.offset = top.offset
        result.epoch = top.epoch
        return False, []
    result.offset = since.offset
    result.epoch = top.epoch
    return True, [] if up_to_date else newest
