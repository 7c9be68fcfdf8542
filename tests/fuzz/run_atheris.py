"""Run one fuzz target of ``targets.py`` under atheris (coverage-guided, libFuzzer).

    PYTHONPATH=.:generated .venv/bin/python tests/fuzz/run_atheris.py TARGET \\
        -max_total_time=60 -timeout=5 -rss_limit_mb=1024 NEW_CORPUS_DIR tests/fuzz/corpus/TARGET

Every ``service`` module is instrumented for coverage.  libFuzzer's ``-timeout`` (seconds per
input) is the "no hang" check and ``-rss_limit_mb`` the memory one; an exception other than
the target's documented errors is a crash (its input is written to ``-artifact_prefix``).
Add a finding to the corpus directory once fixed, so every run replays it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["service"]):
    from tests.fuzz.targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: run_atheris.py {{{','.join(TARGETS)}}} [libFuzzer flags] [corpus]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
