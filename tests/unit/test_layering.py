"""The house's layering (README, "Design"): imports point down only, no import cycle anywhere
in ``service/`` (inside a package or across), and the core imports no transport, engine or
API module.  Reads every module's imports with ``ast``, so a change that breaks a rule fails
here before anyone runs it."""

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
            out.append((_from_target(node, package), node.lineno))
    return out


def _from_target(node: ast.ImportFrom, package: list[str]) -> str:
    """The absolute module a ``from ... import`` names (relative to ``package``)."""
    if node.level:
        base = package[: len(package) - node.level + 1]
        return ".".join([*base, node.module] if node.module else base)
    return node.module or ""


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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """``service`` modules ``path`` imports when it runs: top-level and function-level
    (lazy) imports count, ``if TYPE_CHECKING:`` blocks do not.  ``from pkg import name``
    counts as an import of ``pkg.name`` when that is a module, else of ``pkg``."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    me = _module_name(path)
    package = list(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = _from_target(node, package)
            names = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != me and not me.startswith(name + "."):
                out.add(name)
    return out


def _import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in _modules()}
    modules = set(paths)
    return {m: _runtime_imports(p, modules) for m, p in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    """No module of ``service/`` reaches itself through imports that run (a deferred import
    inside a function that breaks a cycle at run time is still a cycle in the design)."""
    assert _cycles(_import_graph()) == []


def test_cycle_detection_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_transport_engine_or_api(path: Path) -> None:
    """The core knows engines, transports and the API only through its own interfaces
    (``engine.py``, ``transport.py``, ``hooks.py``), even in type-only imports."""
    for name, line in _imports(path):
        for outside in ("service.transports", "service.engines", "service.api"):
            assert name != outside and not name.startswith(outside + "."), (
                f"{path.relative_to(ROOT)}:{line} imports {name}"
            )
