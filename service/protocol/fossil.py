"""Fossil delta encoding, the format centrifuge-js decodes for delta subscriptions
(docs/beyond_v4.md#fossil-delta-format).

A delta turns a *base* byte string into a *target* one:

    <len(target)> "\\n"  { <n> "@" <offset> ","  |  <n> ":" <n raw bytes> }  <checksum> ";"

Numbers are written in base 64 with the digits ``0-9 A-Z _ a-z ~`` (most significant first).
``n@o,`` copies ``n`` bytes of the base from offset ``o``; ``n:`` inserts the next ``n`` bytes
of the delta.  The checksum is the sum modulo 2**32 of the target read as big-endian 32-bit
words, the last one padded with zero bytes.

``create`` is not Fossil's byte-by-byte rolling-hash encoder: it looks for each 16-byte
window of the target first near where the base would continue (``bytes.find`` over a few
dozen bytes), then in an index of the base's aligned 16-byte blocks (a ``dict`` of ``bytes``
slices, built only when needed), and extends each hit with slice comparisons; all of that
runs in C, which is what makes it cheap enough to run once per publication on a few-KB
document in CPython (``bench/delta_bench.py``).  Any valid delta decodes; only its size
depends on the encoder.  Copy boundaries never split a UTF-8 character, so the delta of valid
UTF-8 text is valid UTF-8 (it can travel as a JSON string).  ``apply`` is the decoder, with the
checks of centrifuge-js's ``applyDelta``.
"""

from __future__ import annotations

import sys
import zlib

__all__ = ["DeltaError", "apply", "checksum", "create"]

_DIGITS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
_VALUES = {d: i for i, d in enumerate(_DIGITS)}
_BLOCK = 16  # bytes per indexed base block (Fossil's NHASH)
_MAX_CANDIDATES = 8  # base blocks with equal content tried per target window
_NEAR = 16  # how far from the expected base offset a window is looked for first
_SMALL = [_DIGITS[i : i + 1] for i in range(64)]


class DeltaError(ValueError):
    """A delta that does not decode against the given base."""


def _int(n: int) -> bytes:
    """``n`` >= 0 in the base-64 digits of the format."""
    if n < 64:
        return _SMALL[n]
    out = bytearray()
    while n:
        out.append(_DIGITS[n & 63])
        n >>= 6
    out.reverse()
    return bytes(out)


def _digits(n: int) -> int:
    """How many digits ``_int(n)`` has."""
    count = 1
    while n >= 64:
        n >>= 6
        count += 1
    return count


def checksum(data: bytes) -> int:
    """Sum modulo 2**32 of ``data`` as big-endian 32-bit words (zero-padded at the end).

    That is ``sum(lane k) << (24 - 8k)`` over the four byte lanes ``data[k::4]``; a lane's
    byte sum comes from ``zlib.adler32`` over chunks of 256 bytes (its low half is 1 + the
    byte sum modulo 65521, exact while the sum stays below 65521): 11 us instead of 61 us
    (``sum`` over an ``array('I')``) for 4 KB, measured with ``timeit`` on the dev box.
    """
    total = 0
    adler = zlib.adler32
    for k in range(4):
        lane = data[k::4]
        lane_sum = 0
        for j in range(0, len(lane), 256):
            lane_sum += (adler(lane[j : j + 256]) & 0xFFFF) - 1
        total += lane_sum << (24 - 8 * k)
    return total & 0xFFFFFFFF


def _forward(a: bytes, ai: int, b: bytes, bi: int) -> int:
    """Length of the common prefix of ``a[ai:]`` and ``b[bi:]`` (slice compares, galloping)."""
    limit = min(len(a) - ai, len(b) - bi)
    lo, step = 0, 64
    while lo < limit:
        hi = min(limit, lo + step)
        if a[ai + lo : ai + hi] == b[bi + lo : bi + hi]:
            lo = hi
            step <<= 1
            continue
        # the first difference is in [lo, hi): narrow it down
        while hi - lo > 8:
            mid = (lo + hi) >> 1
            if a[ai + lo : ai + mid] == b[bi + lo : bi + mid]:
                lo = mid
            else:
                hi = mid
        while a[ai + lo] == b[bi + lo]:
            lo += 1
        return lo
    return lo


def _backward(a: bytes, ai: int, b: bytes, bi: int, limit: int) -> int:
    """Length (at most ``limit``) of the common suffix of ``a[:ai]`` and ``b[:bi]``."""
    n = 0
    while n < limit and a[ai - n - 1] == b[bi - n - 1]:
        n += 1
    return n


def _index(base: bytes) -> dict[bytes, list[int]]:
    """Offsets of every aligned, complete 16-byte block of ``base``, by content."""
    index: dict[bytes, list[int]] = {}
    for offset in range(0, len(base) - _BLOCK + 1, _BLOCK):
        block = base[offset : offset + _BLOCK]
        found = index.get(block)
        if found is None:
            index[block] = [offset]
        elif len(found) < _MAX_CANDIDATES:
            found.append(offset)
    return index


def create(base: bytes, target: bytes, max_size: int = -1) -> bytes | None:
    """A delta that turns ``base`` into ``target`` (see the module docstring).

    With ``max_size`` >= 0: None as soon as the delta is known to be longer than that (a
    delta that is not shorter than the payload is not worth sending), so a target unlike its
    base costs little.
    """
    n_target = len(target)
    out = [_int(n_target), b"\n"]
    size = len(out[0]) + 1  # bytes in ``out``
    if max_size < 0:
        max_size = sys.maxsize
    literal = 0  # start of the target bytes not yet emitted
    if len(base) > _BLOCK:
        index: dict[bytes, list[int]] | None = None  # built on first need
        shift = 0  # base offset - target offset of the last copy: edits rarely move it
        i = 0
        last = n_target - _BLOCK
        while i <= last:
            best_len = 0
            best_base = 0
            guess = i + shift
            if i == literal and 0 <= guess < len(base):
                # right after a copy (or at the start) the base usually goes on in step:
                # take even a run shorter than a block (an edit of a few bytes in between)
                best_len = _forward(target, i, base, guess)
                best_base = guess
            if best_len < _BLOCK:
                window = target[i : i + _BLOCK]
                # an edit that changed the length a little: the base goes on near the guess
                near = base.find(window, max(0, guess - _NEAR), max(0, guess + _NEAR + _BLOCK))
                if near >= 0:
                    best_base = near
                    best_len = _BLOCK + _forward(target, i + _BLOCK, base, near + _BLOCK)
                elif i - literal >= _BLOCK:  # a longer change: look anywhere in the base
                    if index is None:
                        index = _index(base)
                    for offset in index.get(window, ()):
                        n = _BLOCK + _forward(target, i + _BLOCK, base, offset + _BLOCK)
                        if n > best_len:
                            best_len, best_base = n, offset
            if not best_len:
                i += 1
                # a later match may still reclaim up to a block of the pending bytes
                if size + i - literal - _BLOCK > max_size:
                    return None
                continue
            back = _backward(target, i, base, best_base, min(i - literal, best_base))
            start, src, n = i - back, best_base - back, best_len + back
            # never split a UTF-8 character: inserts stay whole characters
            while n and target[start] & 0xC0 == 0x80:
                start += 1
                src += 1
                n -= 1
            end = start + n
            while n and end < n_target and target[end] & 0xC0 == 0x80:
                end -= 1
                n -= 1
            pending = start - literal
            cost = _digits(n) + _digits(src) + 2 + (_digits(pending) + 1 if pending else 0)
            if n <= cost:
                i += 1
                continue
            if pending:
                head = _int(pending)
                out += (head, b":", target[literal:start])
                size += len(head) + 1 + pending
            copy = _int(n) + b"@" + _int(src) + b","
            out.append(copy)
            size += len(copy)
            if size > max_size:
                return None
            shift = src - start
            literal = i = end
    if literal < n_target:
        out += (_int(n_target - literal), b":", target[literal:])
    out += (_int(checksum(target)), b";")
    delta = b"".join(out)
    return delta if len(delta) <= max_size else None


def _read_int(delta: bytes, pos: int) -> tuple[int, int]:
    value = 0
    values = _VALUES
    n = len(delta)
    while pos < n:
        digit = values.get(delta[pos])
        if digit is None:
            break
        value = (value << 6) + digit
        pos += 1
    return value, pos


def apply(base: bytes, delta: bytes) -> bytes:
    """The target that ``delta`` makes of ``base``; raises ``DeltaError`` for a delta
    centrifuge-js would reject (bad framing, copy outside the base, wrong size or checksum)."""
    size, pos = _read_int(delta, 0)
    if delta[pos : pos + 1] != b"\n":
        raise DeltaError("size integer not terminated by '\\n'")
    pos += 1
    out = bytearray()
    n = len(delta)
    while pos < n:
        count, pos = _read_int(delta, pos)
        op = delta[pos : pos + 1]
        pos += 1
        if op == b"@":
            offset, pos = _read_int(delta, pos)
            if pos < n and delta[pos : pos + 1] != b",":
                raise DeltaError("copy command not terminated by ','")
            pos += 1
            if len(out) + count > size:
                raise DeltaError("copy exceeds output file size")
            if offset + count > len(base):
                raise DeltaError("copy extends past end of input")
            out += base[offset : offset + count]
        elif op == b":":
            if len(out) + count > size:
                raise DeltaError("insert command gives an output larger than predicted")
            if pos + count > n:
                raise DeltaError("insert count exceeds size of delta")
            out += delta[pos : pos + count]
            pos += count
        elif op == b";":
            result = bytes(out)
            if count != checksum(result):
                raise DeltaError("bad checksum")
            if len(result) != size:
                raise DeltaError("generated size does not match predicted size")
            return result
        else:
            raise DeltaError("unknown delta operator")
    raise DeltaError("unterminated delta")
