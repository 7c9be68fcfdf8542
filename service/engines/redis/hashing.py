"""Channel → shard and key → cluster slot mapping (docs/redis.md#sharding).

* Client-side sharding: Jump Consistent Hash (Lamping & Veach) over the 64-bit FNV-1a hash
  of the channel name's UTF-8 bytes, exactly as centrifuge's ``consistentIndex``.
* Redis Cluster: CRC16/XMODEM of the key's hash tag (``{…}``) modulo 16384.
"""

from __future__ import annotations

from functools import lru_cache

_MASK64 = (1 << 64) - 1
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211


def fnv1a64(data: bytes) -> int:
    """64-bit FNV-1a of ``data`` (Go ``hash/fnv.New64a``)."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h


def jump_hash(key: int, num_buckets: int) -> int:
    """Jump Consistent Hash: bucket in ``[0, num_buckets)`` for a 64-bit ``key``."""
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


class ShardRing:
    """Maps a channel to a shard index; results are cached (channels repeat a lot)."""

    __slots__ = ("_index", "size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one shard is required")
        self.size = size

        @lru_cache(maxsize=65536)
        def index(channel: str) -> int:
            return jump_hash(fnv1a64(channel.encode()), size)

        self._index = index

    def index(self, channel: str) -> int:
        """Shard index of ``channel`` (always 0 with one shard)."""
        if self.size == 1:
            return 0
        return self._index(channel)


def _crc16_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()
SLOTS = 16384


def crc16(data: bytes) -> int:
    """CRC16/XMODEM as used by Redis Cluster."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc


@lru_cache(maxsize=65536)
def key_slot(key: bytes) -> int:
    """Cluster slot of ``key``: only the first non-empty ``{tag}`` is hashed when present."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16(key) % SLOTS
