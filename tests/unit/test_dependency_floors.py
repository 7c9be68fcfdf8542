"""pyproject.toml declares honest dependencies for `pip install gyre` users.

- The grpcio/protobuf floors are at least what the committed stubs in generated/ check at import
  time (``GRPC_GENERATED_VERSION`` in ``*_pb2_grpc.py``, the protobuf gencode version in
  ``*_pb2.py``); below them ``import`` fails with ``RuntimeError``/``VersionError``.
- The stub generator (grpcio-tools) is pinned, in the test extra, to the release that wrote them.
- Every third-party package that ``service/`` imports is a declared runtime dependency, and every
  runtime dependency is imported by ``service/`` (nothing test-only or generator-only ships).

scripts/check_floors.sh installs the floors themselves and runs the tests against them.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"

# import name -> distribution name, where the two differ
DIST_OF = {
    "grpc": "grpcio",
    "grpc_health": "grpcio-health-checking",
    "grpc_reflection": "grpcio-reflection",
    "google": "protobuf",
    "prometheus_client": "prometheus-client",
    "yaml": "pyyaml",
    "nats": "nats-py",
}
# top-level packages of the repository itself (generated/ is an import root)
OWN = {"service", "centrifugal", "controlpb"}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _requirements(section: list[str]) -> dict[str, str]:
    """``{normalized name: specifier}`` of a list of PEP 508 requirement strings."""
    out = {}
    for req in section:
        match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*([^;]*)", req)
        assert match, req
        out[match.group(1).lower().replace("_", "-")] = match.group(3).strip()
    return out


def _project() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    assert isinstance(project, dict)
    return project


def _runtime() -> dict[str, str]:
    deps = _project()["dependencies"]
    assert isinstance(deps, list)
    return _requirements(deps)


def _test_extra() -> dict[str, str]:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return _requirements(extras["test"])


def _floor(spec: str) -> tuple[int, ...]:
    match = re.search(r">=\s*([0-9.]+)", spec)
    assert match, f"no floor in {spec!r}"
    return _version(match.group(1))


def _stub_grpc_versions() -> set[str]:
    found = set()
    for path in GENERATED.rglob("*_pb2_grpc.py"):
        match = re.search(r"^GRPC_GENERATED_VERSION = '([0-9.]+)'", path.read_text(), re.M)
        assert match, f"{path} has no GRPC_GENERATED_VERSION"
        found.add(match.group(1))
    return found


def _stub_protobuf_versions() -> set[str]:
    found = set()
    for path in GENERATED.rglob("*_pb2.py"):
        match = re.search(r"^# Protobuf Python Version: ([0-9.]+)", path.read_text(), re.M)
        assert match, f"{path} has no protobuf gencode version"
        found.add(match.group(1))
    return found


def test_grpc_floors_cover_the_stub_header() -> None:
    (header,) = _stub_grpc_versions()  # every stub comes from one generator run
    spec = _runtime()["grpcio"]
    assert _floor(spec) >= _version(header), (spec, header)


def test_protobuf_floor_covers_the_gencode_version() -> None:
    (gencode,) = _stub_protobuf_versions()
    spec = _runtime()["protobuf"]
    assert _floor(spec) >= _version(gencode), (spec, gencode)
    # Generated code is only guaranteed to work within its major version.
    assert f"<{_version(gencode)[0] + 1}" in spec.replace(" ", ""), spec


def test_generator_is_pinned_to_the_stub_header() -> None:
    (header,) = _stub_grpc_versions()
    assert _test_extra()["grpcio-tools"] == f"=={header}"
    assert "grpcio-tools" not in _runtime()


def _third_party_imports() -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for path in (ROOT / "service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in OWN:
                    found.add(top)
    return found


def test_service_imports_exactly_the_runtime_dependencies() -> None:
    imported = {
        DIST_OF.get(name, name).lower().replace("_", "-") for name in _third_party_imports()
    }
    declared = set(_runtime())
    assert imported - declared == set(), "imported by service/ but not declared"
    assert declared - imported == set(), "declared as runtime dependencies but never imported"
