"""DESIGN.md §3: imports point down only.  Reads every module's imports with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "service"

# layer -> service subpackages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "auth": set(),
    "config": set(),
    "metrics": set(),
    "core": {"protocol"},
    "engines": {"core", "protocol"},
    "transports": {"core", "protocol"},
    "proxy": {"core", "protocol", "config"},
    "policy": {"core", "protocol", "config", "auth", "proxy"},
    "api": {"core", "protocol", "config"},
    "servers": {"transports", "api", "metrics", "core", "protocol"},
}
# modules outside service/ that lower layers must not touch
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "protocol": {"asyncio", "aiohttp", "grpc", "redis"},
    "core": {"aiohttp", "grpc", "redis", "jwt", "yaml"},
    "auth": {"aiohttp.web"},
}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    package = list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((name, node.lineno))
    return out


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    parts = path.relative_to(ROOT).parts
    if len(parts) == 1:
        return  # app.py, cli.py, __main__.py, __init__.py: the composition root
    layer = parts[0]
    allowed = ALLOWED[layer]
    forbidden = FORBIDDEN_THIRD_PARTY.get(layer, set())
    for name, line in _imports(path):
        if name.startswith("service."):
            target = name.split(".")[1]
            if target in (layer, "__init__") or target == "":
                continue
            assert target in allowed, f"{path.relative_to(ROOT)}:{line} imports {name}"
        else:
            for f in forbidden:
                assert name != f and not name.startswith(f + "."), (
                    f"{path.relative_to(ROOT)}:{line} imports {name}"
                )


def test_every_layer_is_known() -> None:
    layers = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)
