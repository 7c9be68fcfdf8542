"""Publication tags filters: a subscriber's ``SubscribeRequest.tf`` (a ``FilterNode`` tree)
checked, compiled into a predicate over ``Publication.tags`` and shared between subscribers
(docs/beyond_v4.md#tags-filter).

``compile_filter`` validates the tree (the rules of Centrifugo v6's filter package, plus a cap
on depth and node count since the input is untrusted) and returns a ``TagsFilter``; equal
trees give the *same* object (interned while any subscription holds it), so the fan-out loop
evaluates each distinct filter once per publication, whatever the number of subscribers
(``Hub.broadcast_publications`` memoizes by identity).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from decimal import Decimal

from ..protocol import codes as c
from ..protocol.messages import FilterNode

__all__ = ["MAX_DEPTH", "MAX_NODES", "TagsFilter", "compile_filter"]

MAX_DEPTH = 32
MAX_NODES = 1000

Tags = dict[str, str] | None
Predicate = Callable[[Tags], bool]
_Canon = tuple[object, ...]

_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")
_SINGLE = frozenset({"eq", "neq", "sw", "ew", "ct", "gt", "gte", "lt", "lte"})  # need val
_MULTI = frozenset({"in", "nin"})
_PRESENCE = frozenset({"ex", "nex"})


class TagsFilter:
    """A compiled filter; ``match(tags)`` is its verdict on a publication's tags."""

    __slots__ = ("__weakref__", "canon", "match")

    def __init__(self, canon: _Canon, match: Predicate) -> None:
        self.canon = canon
        self.match = match


_interned: weakref.WeakValueDictionary[_Canon, TagsFilter] = weakref.WeakValueDictionary()


def _bad() -> c.ReplyError:
    return c.ReplyError(c.ERROR_BAD_REQUEST)


def _number(text: str) -> Decimal | None:
    """Plain decimal notation only (no exponent, NaN, Infinity or spaces): else None."""
    return Decimal(text) if _DECIMAL.match(text) else None


def _leaf(node: FilterNode) -> tuple[_Canon, Predicate]:
    key, cmp, val, vals = node.key, node.cmp, node.val, node.vals
    if cmp in _SINGLE:
        if not val or vals or not key:
            raise _bad()
    elif cmp in _MULTI:
        if not vals or val or not key:
            raise _bad()
    elif cmp in _PRESENCE:
        if val or vals:
            raise _bad()
    else:
        raise _bad()
    canon: _Canon = ("", key, cmp, val, tuple(vals))
    if cmp in _MULTI:
        return canon, _membership(key, frozenset(vals), inside=cmp == "in")
    if cmp in _PRESENCE:
        return canon, _presence(key, present=cmp == "ex")
    if cmp in _NUMERIC:
        return canon, _numeric(key, _NUMERIC[cmp], _number(val))
    return canon, _text(key, _TEXT[cmp], val)


def _membership(key: str, members: frozenset[str], *, inside: bool) -> Predicate:
    def fn(tags: Tags) -> bool:
        # a missing tag counts as the empty string
        return ((tags.get(key, "") if tags else "") in members) is inside

    return fn


def _presence(key: str, *, present: bool) -> Predicate:
    def fn(tags: Tags) -> bool:
        return (bool(tags) and key in tags) is present  # type: ignore[operator]

    return fn


def _text(key: str, holds: Callable[[str | None, str], bool], val: str) -> Predicate:
    def fn(tags: Tags) -> bool:
        return holds(tags.get(key) if tags else None, val)

    return fn


_TEXT: dict[str, Callable[[str | None, str], bool]] = {
    "eq": lambda v, x: v == x,
    "neq": lambda v, x: v != x,  # a missing tag is not equal
    "sw": lambda v, x: v is not None and v.startswith(x),
    "ew": lambda v, x: v is not None and v.endswith(x),
    "ct": lambda v, x: v is not None and x in v,
}
_NUMERIC: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gt": lambda v, x: v > x,
    "gte": lambda v, x: v >= x,
    "lt": lambda v, x: v < x,
    "lte": lambda v, x: v <= x,
}


def _numeric(
    key: str, holds: Callable[[Decimal, Decimal], bool], bound: Decimal | None
) -> Predicate:
    def fn(tags: Tags) -> bool:
        # both sides must be plain decimal numbers, compared exactly; else no match
        text = tags.get(key) if tags else None
        if text is None or bound is None:
            return False
        value = _number(text)
        return value is not None and holds(value, bound)

    return fn


def _compile(node: FilterNode, depth: int, budget: list[int]) -> tuple[_Canon, Predicate]:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise _bad()
    op = node.op
    if not op:
        return _leaf(node)
    if op not in ("and", "or", "not"):
        raise _bad()
    children = [_compile(child, depth + 1, budget) for child in node.nodes]
    if not children or (op == "not" and len(children) != 1):
        raise _bad()
    canon: _Canon = (op, tuple(child[0] for child in children))
    preds = tuple(child[1] for child in children)
    return canon, _combine(op, preds)


def _combine(op: str, preds: tuple[Predicate, ...]) -> Predicate:
    if op == "not":
        (inner,) = preds

        def negation(tags: Tags) -> bool:
            return not inner(tags)

        return negation
    if len(preds) == 1:
        return preds[0]
    if op == "and":

        def conjunction(tags: Tags) -> bool:
            return all(p(tags) for p in preds)

        return conjunction

    def disjunction(tags: Tags) -> bool:
        return any(p(tags) for p in preds)

    return disjunction


def compile_filter(node: FilterNode) -> TagsFilter:
    """Validate and compile ``node``; raises ReplyError(107) for an invalid tree.

    Equal trees (same operators and operands, in the same order) return the same object.
    """
    canon, fn = _compile(node, 1, [MAX_NODES])
    found = _interned.get(canon)
    if found is None:
        found = TagsFilter(canon, fn)
        _interned[canon] = found
    return found
