"""The PUB/SUB payload decoders' fast paths give exactly what the generated classes give."""

from __future__ import annotations

import pytest

from service.core.engine import ClientInfo, Publication, StreamPosition
from service.engines.redis.codec import (
    JOIN,
    LEAVE,
    PUBLICATION,
    decode_message,
    decode_publication,
    encode_info,
    encode_publication,
    history_payload,
)

CASES = [
    Publication(data=b"{}"),
    Publication(data=b"x" * 127),
    Publication(data=b"x" * 128),
    Publication(data=b"y" * 16383),
    Publication(data=b"z" * 16384),  # 3-byte length: generic path
    Publication(data=b'{"a":1}', info=ClientInfo(user="u", client="c", conn_info=b"{}")),
    Publication(data=b'{"a":1}', tags={"k": "v"}),
    Publication(data=b"\x22\x05hello"),  # payload that itself looks like a field
]


@pytest.mark.parametrize("pub", CASES)
def test_roundtrip(pub: Publication) -> None:
    back = decode_publication(encode_publication(pub), 7)
    assert back.data == pub.data
    assert back.info == pub.info
    assert (back.tags or None) == (pub.tags or None)
    assert back.offset == 7


def test_trailing_field_is_not_dropped() -> None:
    # data field followed by info: the fast path must not take only the data
    raw = encode_publication(Publication(data=b"abc", info=ClientInfo(user="u", client="c")))
    assert decode_publication(raw).info == ClientInfo(user="u", client="c")


@pytest.mark.parametrize("pub", CASES)
def test_history_message_roundtrip(pub: Publication) -> None:
    """``__p1:<offset>:<epoch>__`` + Publication: the inlined data-only path and the
    generated-class path give the same publication and position."""
    kind, back, position = decode_message(history_payload(41, "ep0ch", encode_publication(pub)))
    assert kind == PUBLICATION
    assert (back.data, back.info, back.tags or None) == (pub.data, pub.info, pub.tags or None)
    assert back.offset == 41
    assert position == StreamPosition(41, "ep0ch")
    assert type(position) is StreamPosition and position.epoch == "ep0ch"


def test_other_payloads_and_malformed_prefixes() -> None:
    info = ClientInfo(user="u", client="c")
    raw_info = encode_info(info)
    assert decode_message(b"__j__" + raw_info) == (JOIN, info, None)
    assert decode_message(b"__l__" + raw_info) == (LEAVE, info, None)
    kind, pub, pos = decode_message(encode_publication(Publication(data=b"1")))
    assert (kind, pub.data, pub.offset, pos) == (PUBLICATION, b"1", 0, None)
    kind, pub, pos = decode_message(b"__9__" + encode_publication(Publication(data=b"2")))
    assert (pub.data, pub.offset, pos) == (b"2", 9, StreamPosition(9, ""))
    for bad in (b"__p1:12__\x22\x01x", b"__p1:x:e__\x22\x01x", b"__p1:"):
        with pytest.raises(ValueError):
            decode_message(bad)
