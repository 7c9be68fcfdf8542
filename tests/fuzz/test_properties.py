"""Property tests (hypothesis) over the parsers of untrusted input (issue 13.10).

Random and structured inputs go through the same targets as the coverage-guided campaign
(``targets.py``): only documented errors, no hang (a deadline per example) and memory bounded
by the input (tracemalloc).  Structured strategies check round trips and the JSON rules.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.protocol import JSON, ProtocolError
from service.protocol import messages as m
from service.protocol.json_codec import is_valid_json
from service.protocol.varint import (
    decode_varint,
    encode_varint,
    frame_delimited,
    split_delimited,
)
from service.transports.uni_sse import decode_event_id, encode_event_id

from .targets import TARGETS, sse_framing

FAST = settings(
    max_examples=300,
    deadline=1000,  # ms per example: a parser that hangs fails here
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_random_bytes(name: str) -> None:
    target = TARGETS[name]

    @FAST
    @given(st.binary(max_size=4096))
    def run(data: bytes) -> None:
        target(data)

    run()


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_memory_is_bounded_by_the_input(name: str) -> None:
    """Peak allocation stays within a fixed multiple of the input plus a constant: no input
    makes a parser reserve what it claims (a varint length, a nesting depth...)."""
    target = TARGETS[name]

    @settings(max_examples=40, deadline=None, database=None)
    @given(st.binary(min_size=1, max_size=2048))
    def run(data: bytes) -> None:
        assert _peak(lambda: target(data)) < 64 * len(data) + (1 << 20)

    run()


def test_declared_lengths_are_not_allocated() -> None:
    frame = encode_varint(1 << 60) + b"x"
    with pytest.raises(ProtocolError):
        split_delimited(frame)
    assert _peak(lambda: TARGETS["protobuf_commands"](frame)) < 1 << 20


# --- structured ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
whitespace = st.text(alphabet=" \t\r\n", max_size=3)


@FAST
@given(json_values, st.lists(whitespace, min_size=4, max_size=4), st.booleans())
def test_json_payloads_are_valid_and_one_sse_event(
    value: object, ws: list[str], ascii_only: bool
) -> None:
    """Any JSON value, with CR/LF/tab/space as whitespace between its tokens."""
    text = json.dumps(value, ensure_ascii=ascii_only, separators=("," + ws[0], ":" + ws[1]))
    doc = (ws[2] + text + ws[3]).encode()
    assert is_valid_json(doc)
    sse_framing(doc)
    out = JSON.encode_reply(m.Reply(push=m.Push(channel="c", pub=m.Publication(data=m.raw(doc)))))
    assert b"\r" not in out and b"\n" not in out
    assert json.loads(out)["push"]["pub"]["data"] == json.loads(doc)


@FAST
@given(st.binary(max_size=512))
def test_what_is_valid_json_parses_with_the_standard_library(data: bytes) -> None:
    if is_valid_json(data):
        json.loads(data.decode())  # UTF-8 and grammar: never raises


@FAST
@given(
    st.integers(min_value=1, max_value=2**31),
    json_values,
    st.text(max_size=30),
)
def test_json_commands_round_trip(cid: int, data: object, channel: str) -> None:
    cmd = {"id": cid, "publish": {"channel": channel, "data": data}}
    (decoded,) = JSON.decode_commands(json.dumps(cmd).encode())
    assert decoded.id == cid and decoded.publish is not None
    assert decoded.publish.channel == channel
    assert json.loads(bytes(decoded.publish.data)) == data


@FAST
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_round_trip(n: int) -> None:
    raw = encode_varint(n)
    assert decode_varint(raw, 0) == (n, len(raw)) and len(raw) <= 10


@FAST
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_framing_round_trip(messages: list[bytes]) -> None:
    assert split_delimited(frame_delimited(messages)) == messages


@FAST
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.tuples(st.integers(min_value=0, max_value=2**53), st.text(max_size=10)),
        max_size=5,
    )
)
def test_event_ids_round_trip(positions: dict[str, tuple[int, str]]) -> None:
    eid = encode_event_id(positions)
    assert eid.isascii() and b"\n" not in eid and b"\r" not in eid
    assert decode_event_id(eid.decode()) == positions
