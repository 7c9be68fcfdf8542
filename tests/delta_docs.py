"""Versions of a JSON document that change a little at a time: the payloads of the delta tests
and of ``bench/delta_bench.py``.

``versions(n, size=4096, change=0.01, seed=1)`` returns ``n`` compact JSON documents (bytes) of
about ``size`` bytes; each one differs from the previous one in a few values that together
make about ``change`` of its bytes.  Some values hold multi-byte UTF-8 text (accents, CJK,
emoji) so that edits land next to multi-byte characters.  Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from typing import Any

_NAMES = [
    *("alpha", "bravo", "charlie", "delta", "écho"),
    *("foxtrot", "göl", "東京", "мир", "🚀 rocket"),
]


def _doc(rng: random.Random, size: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    doc: dict[str, Any] = {"seq": 0, "title": "live board — état", "items": items}
    while len(_encode(doc)) < size:
        i = len(items)
        items.append(
            {
                "id": i,
                "name": f"{rng.choice(_NAMES)}-{i}",
                "price": round(rng.uniform(1, 500), 2),
                "qty": rng.randint(0, 1000),
                "note": rng.choice(_NAMES) * rng.randint(1, 3),
            }
        )
    return doc


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def versions(n: int, size: int = 4096, change: float = 0.01, seed: int = 1) -> list[bytes]:
    """``n`` successive versions (see the module docstring)."""
    rng = random.Random(seed)
    doc = _doc(rng, size)
    out = [_encode(doc)]
    per_version = max(1, round(size * change / 10))  # an edit changes ~10 bytes
    for seq in range(1, n):
        doc["seq"] = seq
        items = doc["items"]
        for _ in range(per_version):
            item = rng.choice(items)
            field = rng.choice(["price", "qty", "note"])
            if field == "price":
                item["price"] = round(rng.uniform(1, 500), 2)
            elif field == "qty":
                item["qty"] = rng.randint(0, 1000)
            else:
                item["note"] = rng.choice(_NAMES) * rng.randint(1, 3)
        out.append(_encode(doc))
    return out
