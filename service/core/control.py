"""Node-to-node control messages (server API user operations, node info).

Encoded as compact JSON documents ``{"op": ..., "uid": <sender node>, ...}``; ``bytes``
values travel base64-encoded.  Every engine carries them opaquely via
``Broker.publish_control`` and hands them back through ``handle_control``.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from .engine import StreamPosition
from .hooks import SubscriptionOptions


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode() if data else ""


def unb64(data: str) -> bytes:
    return base64.b64decode(data) if data else b""


def encode(op: str, sender: str, **params: Any) -> bytes:
    params["op"] = op
    params["uid"] = sender
    return orjson.dumps(params)


def decode(data: bytes) -> dict[str, Any]:
    obj = orjson.loads(data)
    if not isinstance(obj, dict) or not isinstance(obj.get("op"), str):
        raise ValueError("malformed control message")
    return obj


def options_to_dict(o: SubscriptionOptions) -> dict[str, Any]:
    return {
        "presence": o.presence,
        "join_leave": o.join_leave,
        "push_join_leave": o.push_join_leave,
        "positioned": o.positioned,
        "recoverable": o.recoverable,
        "expire_at": o.expire_at,
        "chan_info": b64(o.chan_info),
        "data": b64(o.data),
        "recover_since": (
            [o.recover_since.offset, o.recover_since.epoch] if o.recover_since else None
        ),
    }


def options_from_dict(d: dict[str, Any]) -> SubscriptionOptions:
    rs = d.get("recover_since")
    return SubscriptionOptions(
        presence=bool(d.get("presence")),
        join_leave=bool(d.get("join_leave")),
        push_join_leave=bool(d.get("push_join_leave")),
        positioned=bool(d.get("positioned")),
        recoverable=bool(d.get("recoverable")),
        expire_at=int(d.get("expire_at") or 0),
        chan_info=unb64(d.get("chan_info") or ""),
        data=unb64(d.get("data") or ""),
        client_side_refresh=False,
        recover_since=StreamPosition(int(rs[0]), str(rs[1])) if rs else None,
    )
