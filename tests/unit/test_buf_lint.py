"""`buf lint` (STANDARD, exemptions in buf.yaml) must pass cleanly on proto/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _buf() -> str | None:
    # buf-bin installs the `buf` executable next to the interpreter (venv bin/).
    name = "buf.exe" if os.name == "nt" else "buf"
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("buf")


def test_buf_lint_clean() -> None:
    buf = _buf()
    if buf is None:
        pytest.skip("buf is not installed (pip install buf-bin)")
    proc = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output == ""
