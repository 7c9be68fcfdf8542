"""Tags filters (service/core/tags_filter.py): validation, every operator, interning."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from service.core.tags_filter import MAX_DEPTH, MAX_NODES, compile_filter
from service.protocol import codes as c
from service.protocol.messages import FilterNode


def node(**kw: Any) -> FilterNode:
    return msgspec.convert(kw, FilterNode)


def leaf(key: str, cmp: str, val: str = "", vals: list[str] | None = None) -> FilterNode:
    return FilterNode(key=key, cmp=cmp, val=val, vals=vals or [])


IS_AAPL = leaf("ticker", "eq", "AAPL")
IS_X = leaf("ticker", "eq", "X")
TAGS = {"ticker": "AAPL", "price": "150.25", "name": "apple inc", "empty": ""}

CASES = [
    # (filter, tags, expected)
    (leaf("ticker", "eq", "AAPL"), TAGS, True),
    (leaf("ticker", "eq", "MSFT"), TAGS, False),
    (leaf("missing", "eq", "x"), TAGS, False),
    (leaf("ticker", "neq", "MSFT"), TAGS, True),
    (leaf("ticker", "neq", "AAPL"), TAGS, False),
    (leaf("missing", "neq", "x"), TAGS, True),
    (leaf("ticker", "in", vals=["MSFT", "AAPL"]), TAGS, True),
    (leaf("ticker", "in", vals=["MSFT"]), TAGS, False),
    (leaf("missing", "in", vals=["", "x"]), TAGS, True),  # absent counts as ""
    (leaf("missing", "nin", vals=["x"]), TAGS, True),
    (leaf("missing", "nin", vals=[""]), TAGS, False),
    (leaf("ticker", "nin", vals=["AAPL"]), TAGS, False),
    (leaf("ticker", "ex"), TAGS, True),
    (leaf("empty", "ex"), TAGS, True),
    (leaf("missing", "ex"), TAGS, False),
    (leaf("missing", "nex"), TAGS, True),
    (leaf("ticker", "nex"), TAGS, False),
    (leaf("name", "sw", "apple"), TAGS, True),
    (leaf("name", "sw", "inc"), TAGS, False),
    (leaf("name", "ew", "inc"), TAGS, True),
    (leaf("name", "ct", "le i"), TAGS, True),
    (leaf("missing", "ct", "a"), TAGS, False),
    (leaf("price", "gt", "100"), TAGS, True),
    (leaf("price", "gt", "150.25"), TAGS, False),
    (leaf("price", "gte", "150.25"), TAGS, True),
    (leaf("price", "lt", "150.250001"), TAGS, True),
    (leaf("price", "lte", "150.24"), TAGS, False),
    (leaf("price", "gt", "-1"), TAGS, True),
    (leaf("ticker", "gt", "1"), TAGS, False),  # non-numeric value
    (leaf("price", "gt", "abc"), TAGS, False),  # non-numeric operand
    (leaf("price", "gt", "1e2"), TAGS, False),  # exponents are not plain decimals
    (leaf("missing", "lt", "1"), TAGS, False),
    (FilterNode(op="and", nodes=[IS_AAPL, leaf("price", "gt", "100")]), TAGS, True),
    (FilterNode(op="and", nodes=[IS_AAPL, leaf("price", "gt", "200")]), TAGS, False),
    (FilterNode(op="or", nodes=[IS_X, leaf("price", "gt", "100")]), TAGS, True),
    (FilterNode(op="or", nodes=[IS_X]), TAGS, False),
    (FilterNode(op="not", nodes=[IS_X]), TAGS, True),
    (FilterNode(op="not", nodes=[IS_AAPL]), TAGS, False),
    # publications without tags (client publications) see an empty map
    (leaf("ticker", "nex"), None, True),
    (leaf("ticker", "eq", "AAPL"), None, False),
    (leaf("ticker", "in", vals=[""]), {}, True),
]


@pytest.mark.parametrize(("flt", "tags", "expected"), CASES)
def test_operators(flt: FilterNode, tags: dict[str, str] | None, expected: bool) -> None:
    assert compile_filter(flt).match(tags) is expected


INVALID = [
    FilterNode(),  # leaf without cmp
    leaf("k", "like", "x"),  # unknown cmp
    leaf("k", "eq"),  # eq without val
    leaf("", "eq", "x"),  # key required
    leaf("k", "eq", "x", ["y"]),  # eq with vals
    leaf("k", "in"),  # in without vals
    leaf("k", "in", "x", ["y"]),  # in with val
    leaf("k", "ex", "x"),  # ex takes no operand
    FilterNode(op="xor", nodes=[leaf("k", "ex")]),
    FilterNode(op="and"),  # no children
    FilterNode(op="or", nodes=[leaf("k", "ex"), FilterNode()]),  # an invalid child
    FilterNode(op="not", nodes=[leaf("k", "ex"), leaf("j", "ex")]),  # not needs exactly one
]


@pytest.mark.parametrize("flt", INVALID)
def test_invalid_filters_are_error_107(flt: FilterNode) -> None:
    with pytest.raises(c.ReplyError) as e:
        compile_filter(flt)
    assert e.value.error.code == 107


def test_depth_and_size_are_capped() -> None:
    deep = leaf("k", "ex")
    for _ in range(MAX_DEPTH - 1):
        deep = FilterNode(op="not", nodes=[deep])
    compile_filter(deep)
    with pytest.raises(c.ReplyError):
        compile_filter(FilterNode(op="not", nodes=[deep]))
    wide = FilterNode(op="or", nodes=[leaf(f"k{i}", "ex") for i in range(MAX_NODES - 1)])
    compile_filter(wide)
    with pytest.raises(c.ReplyError):
        compile_filter(FilterNode(op="or", nodes=[leaf(f"k{i}", "ex") for i in range(MAX_NODES)]))


def test_equal_filters_are_one_object() -> None:
    a = compile_filter(node(op="and", nodes=[{"key": "a", "cmp": "eq", "val": "1"}]))
    b = compile_filter(node(op="and", nodes=[{"key": "a", "cmp": "eq", "val": "1"}]))
    other = compile_filter(node(op="and", nodes=[{"key": "a", "cmp": "eq", "val": "2"}]))
    assert a is b
    assert other is not a
