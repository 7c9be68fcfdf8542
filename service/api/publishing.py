"""Publishing through the server API: ``publish`` (HTTP, gRPC ``Publish`` and ``Batch``) and
``broadcast`` (docs/server_api.md#methods).

Every request becomes an ``Item`` first (its channel, publication and options, or the error
it answers), then all items of one API call go to the node as ONE ``Node.publish_many`` call:
consecutive items into the same channel with the same options form one run (one broker call
per run, one hub pass, each publication still gets its own offset).  The answers are exactly
what one single publish per request would give, in order.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

import msgspec

from ..core.engine import EngineError, Publication, PublishOptions, PublishRun
from ..core.hooks import ApiPolicy
from ..core.node import Node
from ..core.wire import payload_json_ok
from ..protocol import codes as c
from . import messages as a

log = logging.getLogger("gyre.api")

NO_POSITION = a.PublishResult()
"""The result of a publish that keeps no history (shared: callers must not mutate it)."""

NO_POSITION_RESPONSE = a.PublishResponse(result=NO_POSITION)
"""A ``broadcast`` channel's answer without history (shared as well)."""

_NO_HISTORY = PublishOptions()


def payload(data: msgspec.Raw | bytes, b64data: str) -> bytes:
    """The payload bytes of an API request: ``b64data`` decoded when given (107 when it is
    not base64), else ``data`` (JSON ``null`` is no data)."""
    if b64data:
        try:
            return base64.b64decode(b64data, validate=True)
        except (binascii.Error, ValueError):
            raise c.ReplyError(c.ERROR_BAD_REQUEST) from None
    out = bytes(data)
    return b"" if out == b"null" else out


def api_error(method: str, e: Exception) -> a.Error:
    """The ``Error`` an API call answers for ``e``: a ``ReplyError``'s own code, else 100
    (internal), logged (an ``EngineError`` as a warning, anything else with its traceback)."""
    if isinstance(e, c.ReplyError):
        return a.Error(code=e.error.code, message=e.error.message)
    if isinstance(e, EngineError):
        log.warning("api %s failed: %s", method, e)
    else:
        log.error("api %s failed", method, exc_info=e)
    return a.Error(code=c.ERROR_INTERNAL.code, message=c.ERROR_INTERNAL.message)


class PublishFields(Protocol):
    """One publish request as ``publish_item`` reads it: the decoded JSON ``PublishRequest``
    and the gRPC ``api_pb2.PublishRequest`` both have these attributes."""

    @property
    def channel(self) -> str: ...

    @property
    def data(self) -> bytes | msgspec.Raw: ...

    @property
    def b64data(self) -> str: ...

    @property
    def skip_history(self) -> bool: ...

    @property
    def tags(self) -> Mapping[str, str]: ...

    @property
    def idempotency_key(self) -> str: ...

    @property
    def delta(self) -> bool: ...


Item = tuple[str, Publication, PublishOptions] | a.Error
"""One publish ready for ``Node.publish_many``: channel, publication and options, or the
error its request answers without being published."""


def _item(
    policy: ApiPolicy,
    channel: str,
    data: bytes,
    tags: Mapping[str, str],
    skip_history: bool,
    key: str,
    delta: bool,
    json_ok: bool | None = None,
) -> tuple[str, Publication, PublishOptions]:
    """Channel, publication and options of one publish of ``data`` (decoded already): 107
    without channel or data, 102 for an unknown namespace.  ``json_ok``: ``data``'s JSON
    check when the caller made it (``Publication.json_ok``)."""
    if not channel or not data:
        raise c.ReplyError(c.ERROR_BAD_REQUEST)
    caps = policy.api_channel(channel)
    pub = Publication(data, None, 0, dict(tags) if tags else None, json_ok, delta)
    opts = _NO_HISTORY if skip_history else caps.publish
    if key:  # a publish of its own (a new options object never joins a run)
        ttl = caps.publish.idempotent_result_ttl
        opts = replace(opts, idempotency_key=key, idempotent_result_ttl=ttl)
    return channel, pub, opts


def publish_item(policy: ApiPolicy, req: PublishFields) -> Item:
    """The item of one publish request (its error when it cannot be published)."""
    data = req.data
    b64data = req.b64data
    try:
        if b64data or type(data) is not bytes or data == b"null":  # gRPC bytes: used as is
            data = payload(data, b64data)
        key, delta = req.idempotency_key, req.delta
        return _item(policy, req.channel, data, req.tags, req.skip_history, key, delta)
    except Exception as e:
        return api_error("publish", e)


def broadcast_items(policy: ApiPolicy, req: a.BroadcastRequest) -> list[Item]:
    """One item per channel of ``req`` (107 for the whole call without channels or data).
    The payload is decoded and JSON-checked once for every channel."""
    data = payload(req.data, req.b64data)
    if not req.channels or not data:
        raise c.ReplyError(c.ERROR_BAD_REQUEST)
    args = (data, req.tags, req.skip_history, req.idempotency_key, req.delta)
    json_ok = payload_json_ok(data)
    items: list[Item] = []
    for channel in req.channels:
        try:
            items.append(_item(policy, channel, *args, json_ok))
        except Exception as e:
            items.append(api_error("publish", e))
    return items


async def publish_items(node: Node, items: list[Item]) -> list[a.PublishResult | a.Error]:
    """Publish ``items`` as ONE ``Node.publish_many`` call; one answer per item, in order (an
    item's own error stays its answer).  A publication that keeps no history answers the
    shared ``NO_POSITION`` (never mutate it)."""
    out: list[a.PublishResult | a.Error] = [NO_POSITION] * len(items)
    runs: list[PublishRun] = []
    at: list[list[int]] = []  # the item indexes of each run
    channel, opts = "", _NO_HISTORY
    pubs: list[Publication] = []
    indexes: list[int] = []
    for i, item in enumerate(items):
        if isinstance(item, a.Error):
            out[i] = item
            continue
        ch, pub, po = item
        if ch != channel or po is not opts or not runs:
            channel, opts, pubs, indexes = ch, po, [], []
            runs.append((ch, pubs, po))
            at.append(indexes)
        pubs.append(pub)
        indexes.append(i)
    if not runs:
        return out
    try:
        results = await node.publish_many(runs)
    except Exception as e:  # none could be tried (the engine is not running)
        results = [e] * len(runs)
    for run, outcomes in zip(at, results, strict=True):
        if isinstance(outcomes, Exception):
            err = api_error("publish", outcomes)
            for i in run:
                out[i] = err
            continue
        if outcomes.count(None) == len(outcomes):  # no history: NO_POSITION is there already
            continue
        for i, outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, Exception):
                out[i] = api_error("publish", outcome)
            elif outcome is not None:
                out[i] = a.PublishResult(offset=outcome.offset, epoch=outcome.epoch)
    return out
