"""The coverage-guided campaign (atheris / libFuzzer), time-boxed for CI (issue 13.10).

Every target of ``targets.py`` runs in its own process for ``GYRE_FUZZ_SECONDS`` / number of
targets seconds (80 s in all by default), starting from its corpus in tests/fuzz/corpus/
(seeds and past findings, replayed first). Inputs found new are kept in a temporary directory,
not in the repository; ``-timeout`` (per input) and ``-rss_limit_mb`` are the hang and memory
limits. A finding fails the test with libFuzzer's report and the input as base64.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus")
TOTAL_SECONDS = float(os.environ.get("GYRE_FUZZ_SECONDS", "80"))

atheris = pytest.importorskip("atheris", reason="atheris is in the test extra (Linux wheels)")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_campaign(name: str, tmp_path: Path) -> None:
    seconds = max(1, int(TOTAL_SECONDS / len(TARGETS)))
    found = tmp_path / "new"
    found.mkdir()
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("run_atheris.py")),
        name,
        f"-max_total_time={seconds}",
        "-timeout=5",
        "-rss_limit_mb=1024",
        "-max_len=16384",
        f"-artifact_prefix={tmp_path}/",
        "-print_final_stats=1",
        str(found),
        str(CORPUS / name),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "generated")])}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120
    )
    report = proc.stderr[-6000:]
    assert proc.returncode == 0, f"{name}: finding (libFuzzer exit {proc.returncode})\n{report}"
    assert "Done " in proc.stderr, report
