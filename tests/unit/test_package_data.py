"""The built-in admin UI ships inside the package: in the wheel ``pip install .`` builds, and
found through ``importlib.resources`` at run time (no build step, no download)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from service.api.admin_web import builtin_assets

REPO = Path(__file__).resolve().parents[2]
UI_DIR = REPO / "service" / "api" / "admin_web"


def ui_files() -> set[str]:
    return {p.name for p in UI_DIR.iterdir() if p.is_file()}


def test_resources_find_every_ui_file() -> None:
    assets = builtin_assets()
    assert set(assets) == ui_files()
    for name, asset in assets.items():
        assert asset.body == (UI_DIR / name).read_bytes()


def test_wheel_contains_the_ui(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("service", "generated"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    out = tmp_path / "dist"
    # what pip does for `pip install .`, without build isolation (no network)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])",
            str(out),
        ],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"service/api/admin_web/{n}" for n in ui_files()} <= names
