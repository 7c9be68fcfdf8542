"""Hypothesis profiles: ``ci`` (when ``CI`` is set) replays the same examples on every run, so a
fresh clone passes or fails the same way; locally every run draws new examples. Neither writes
an example database into the work tree."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
