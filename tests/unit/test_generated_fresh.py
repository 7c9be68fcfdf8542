"""generated/ must be exactly what scripts/gen_protos.py produces from proto/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _outputs(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name.endswith(SUFFIXES) and "__pycache__" not in p.parts
    }


def test_generated_is_fresh(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    fresh = _outputs(out)
    committed = _outputs(GENERATED)
    assert fresh, "generator produced nothing"
    hint = "generated/ is stale: run `python scripts/gen_protos.py` and commit generated/"
    assert sorted(committed) == sorted(fresh), hint
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"{hint} (differs: {changed})"
