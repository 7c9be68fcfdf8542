"""The fossil delta encoder and decoder (service/protocol/fossil.py), on their own.

Every delta made here is also decoded by centrifuge-js's decoder in
tests/e2e/test_fossil_oracle.py; these tests pin the format details and the contracts.
"""

from __future__ import annotations

import itertools
import os
import random

import pytest

from service.protocol import fossil
from tests.delta_docs import versions

BASE = b'{"seq":8,"text":"hello hello hello hello"}'
TARGET = b'{"seq":9,"text":"hello hello hello hello"}'


def test_the_documented_example_byte_for_byte() -> None:
    # docs/beyond_v4.md: header 42, copy 7 from 0, insert "9", copy 34 from 8, checksum
    assert fossil.create(BASE, TARGET) == b"f\n7@0,1:9Y@8,2Pt2Z3;"
    assert fossil.apply(BASE, b"f\n7@0,1:9Y@8,2Pt2Z3;") == TARGET


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0), (b"\x01", 0x01000000), (b"\x00\x00\x00\x01", 1), (b"\xff" * 8, 0xFFFFFFFE)],
)
def test_checksum_is_the_sum_of_big_endian_words(data: bytes, expected: int) -> None:
    assert fossil.checksum(data) == expected


def test_checksum_matches_a_plain_word_sum_for_every_length() -> None:
    rng = random.Random(3)
    for n in [*range(0, 40), 255, 256, 1023, 1024, 1025, 4097, 70000]:
        data = rng.randbytes(n)
        padded = data + b"\0" * (-n % 4)
        words = [int.from_bytes(padded[i : i + 4], "big") for i in range(0, len(padded), 4)]
        assert fossil.checksum(data) == sum(words) % 2**32, n


def test_round_trip_over_document_versions_and_deltas_are_small() -> None:
    docs = versions(30)
    for base, target in itertools.pairwise(docs):
        delta = fossil.create(base, target)
        assert delta is not None
        assert fossil.apply(base, delta) == target
        assert len(delta) < len(target) * 0.1


@pytest.mark.parametrize(
    ("base", "target"),
    [
        (b"", b""),
        (b"", b"abc"),
        (b"abc", b""),
        (b"short", b"shorter"),
        (b"x" * 17, b"x" * 40),
        (b"0123456789abcdef" * 4, b"0123456789abcdef" * 4),
        (b"0123456789abcdef" * 4, b"prefix" + b"0123456789abcdef" * 4 + b"suffix"),
        (os.urandom(500), os.urandom(300)),
    ],
)
def test_round_trip_edge_cases(base: bytes, target: bytes) -> None:
    delta = fossil.create(base, target)
    assert delta is not None
    assert fossil.apply(base, delta) == target


def test_random_edits_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(300):
        base = bytearray(rng.randbytes(rng.randint(0, 600)))
        target = bytearray(base)
        for _ in range(rng.randint(0, 6)):
            at = rng.randint(0, len(target))
            cut = rng.randint(0, 20)
            target[at : at + cut] = rng.randbytes(rng.randint(0, 20))
        if rng.random() < 0.3:  # moved blocks
            target = target[len(target) // 2 :] + target[: len(target) // 2]
        delta = fossil.create(bytes(base), bytes(target))
        assert delta is not None
        assert fossil.apply(bytes(base), delta) == bytes(target)


def test_deltas_of_utf8_text_are_utf8() -> None:
    """Copies never split a character, so a delta can travel as a JSON string."""
    rng = random.Random(11)
    chars = "aé東🚀ж€ "
    for _ in range(300):
        base = "".join(rng.choice(chars) for _ in range(rng.randint(0, 200)))
        target = list(base)
        for _ in range(rng.randint(1, 5)):
            at = rng.randint(0, len(target))
            target[at:at] = rng.choice(chars) * rng.randint(1, 3)
        b, t = base.encode(), "".join(target).encode()
        delta = fossil.create(b, t)
        assert delta is not None
        delta.decode("utf-8")  # raises when a character was split
        assert fossil.apply(b, delta) == t


def test_max_size_gives_up_on_unrelated_data() -> None:
    base, target = os.urandom(4000), os.urandom(4000)
    assert fossil.create(base, target, max_size=len(target) - 1) is None
    docs = versions(2)
    delta = fossil.create(docs[0], docs[1], max_size=len(docs[1]) - 1)
    assert delta is not None and len(delta) < len(docs[1])
    assert fossil.create(docs[0], docs[1], max_size=len(delta) - 1) is None


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (b"f", "not terminated"),
        (b"f\n7@0;", "not terminated by ','"),
        (b"f\nZZ@0,", "exceeds output"),
        (b"2\n2@99,0;", "past end of input"),
        (b"1\n5:ab", "larger than predicted"),
        (b"1\n1:a0;", "bad checksum"),
        (b"f\n1?", "unknown delta operator"),
        (b"1\n1:a", "unterminated"),
    ],
)
def test_apply_rejects_what_the_sdk_rejects(delta: bytes, message: str) -> None:
    with pytest.raises(fossil.DeltaError, match=message):
        fossil.apply(BASE, delta)
