"""Go-compatible scalar parsing: ``time.ParseDuration``, ``Duration.String`` and ``ParseBool``.

Durations are represented as ``float`` seconds everywhere in :mod:`service.config`.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["format_duration", "parse_bool", "parse_duration"]

_NS = 1
_US = 1000 * _NS
_MS = 1000 * _US
_S = 1000 * _MS
_M = 60 * _S
_H = 60 * _M

_UNITS: dict[str, int] = {
    "ns": _NS,
    "us": _US,
    "\u00b5s": _US,  # micro sign (what Go prints)
    "\u03bcs": _US,  # greek small letter mu
    "ms": _MS,
    "s": _S,
    "m": _M,
    "h": _H,
}
_MAX_NS = (1 << 63) - 1
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_duration(s: str) -> float:
    """Parse a Go duration string (``"25s"``, ``"1500ms"``, ``"1h30m"``, ``"300us"``, ``"0"``).

    Same grammar as Go ``time.ParseDuration``: an optional sign, then one or more
    ``<decimal number><unit>`` parts with units ns, us (µs, μs), ms, s, m, h; a bare ``"0"`` is
    allowed. Returns seconds as a float (computed from exact integer nanoseconds, truncating
    below 1 ns like Go). Raises ValueError with a message naming the offending string; plain
    numbers without a unit (other than ``"0"``) are rejected here - callers that accept numbers
    as seconds handle them before calling this.
    """
    if not isinstance(s, str):
        raise ValueError(f"invalid duration {s!r}: expected a string")
    orig = s
    sign = 1
    if s[:1] in ("-", "+"):
        if s[0] == "-":
            sign = -1
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'invalid duration "{orig}"')
    total = Fraction(0)
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None or m.end() == pos:  # pragma: no cover - the pattern always advances or fails
            raise ValueError(f'invalid duration "{orig}"')
        number, unit = m.group(1), m.group(2)
        if number in ("", "."):
            raise ValueError(f'invalid duration "{orig}"')
        if not unit:
            raise ValueError(f'missing unit in duration "{orig}"')
        if unit not in _UNITS:
            raise ValueError(f'unknown unit "{unit}" in duration "{orig}"')
        total += Fraction(number) * _UNITS[unit]
        pos = m.end()
    ns = int(total)  # truncation toward zero, like Go
    if ns > _MAX_NS:
        raise ValueError(f'invalid duration "{orig}": out of range')
    return sign * ns / _S


def _fmt_frac(value: int, scale: int) -> str:
    """``value / scale`` as a decimal string without trailing zeros (scale a power of ten)."""
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def format_duration(seconds: float) -> str:
    """Format seconds the way Go's ``time.Duration.String`` does.

    Examples: ``0`` → ``"0s"``, ``25`` → ``"25s"``, ``1.5`` → ``"1.5s"``, ``90`` → ``"1m30s"``,
    ``7776000`` → ``"2160h0m0s"``, ``0.0003`` → ``"300µs"``. The value is rounded to whole
    nanoseconds first; :func:`parse_duration` accepts every string this returns.
    """
    ns = round(seconds * _S)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < _US:
        return f"{sign}{ns}ns"
    if ns < _MS:
        return f"{sign}{_fmt_frac(ns, _US)}\u00b5s"
    if ns < _S:
        return f"{sign}{_fmt_frac(ns, _MS)}ms"
    hours, rest = divmod(ns, _H)
    minutes, rest = divmod(rest, _M)
    secs = _fmt_frac(rest, _S) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{secs}"


def parse_bool(s: str) -> bool:
    """Go ``strconv.ParseBool``: 1 t T TRUE true True / 0 f F FALSE false False.

    Anything else raises ValueError.
    """
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f'invalid boolean "{s}" (expected one of 1, t, true, 0, f, false)')
