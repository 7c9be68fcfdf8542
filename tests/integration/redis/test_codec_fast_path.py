"""decode_publication's fast path gives exactly what the generated class gives."""

from __future__ import annotations

import pytest

from service.core.engine import ClientInfo, Publication
from service.engines.redis.codec import decode_publication, encode_publication

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
