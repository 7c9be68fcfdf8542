"""CPU and resident memory of this process, as the server API ``info`` reports them.

``NodeResult.process`` of Centrifugo's ``api.proto`` (``Process {double cpu; int64 rss}``):
``cpu`` is the share of one core used since the previous sample, in percent (100 = one core
fully busy), ``rss`` the resident set size in bytes.  See docs/admin_ui.md.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """``cpu``: percent of one core; ``rss``: bytes."""

    cpu: float
    rss: int


def rss_bytes() -> int:
    """Current resident set size from ``/proc/self/statm``; elsewhere the peak RSS that
    ``getrusage`` knows (kilobytes on Linux, hence the factor)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ProcessSampler:
    """CPU share between samples at least ``min_interval`` seconds apart.

    ``sample()`` may be called as often as callers like (every ``info`` call, every node
    announcement): a call sooner than ``min_interval`` after the last measurement returns
    the last CPU figure with a fresh RSS, so short windows do not make the figure jump.
    """

    __slots__ = ("_cpu", "_last_cpu", "_last_wall", "min_interval")

    def __init__(self, min_interval: float = 1.0) -> None:
        self.min_interval = min_interval
        self._last_wall = time.monotonic()
        self._last_cpu = time.process_time()
        self._cpu = 0.0

    def sample(self) -> ProcessStats:
        wall = time.monotonic()
        elapsed = wall - self._last_wall
        if elapsed >= self.min_interval:
            cpu = time.process_time()
            self._cpu = max(0.0, (cpu - self._last_cpu) / elapsed * 100.0)
            self._last_wall, self._last_cpu = wall, cpu
        return ProcessStats(cpu=round(self._cpu, 1), rss=rss_bytes())
