#!/usr/bin/env python3
"""Regenerate the Python protobuf/gRPC modules in ``generated/`` from ``proto/``.

Usage::

    python scripts/gen_protos.py [--out DIR]

Runs grpcio-tools' protoc once over every ``.proto`` under ``proto/`` (sorted, paths relative
to ``proto/``) with ``--python_out``, ``--pyi_out`` and ``--grpc_python_out``. ``generated/`` is
an import root (namespace packages, no ``__init__.py``): code does
``from centrifugal.centrifuge.protocol import client_pb2`` with ``generated/`` on ``sys.path``.

Before generating, every previously generated file (``*_pb2.py``, ``*_pb2.pyi``,
``*_pb2_grpc.py``) under the output directory is deleted, together with directories left
empty, so outputs of removed/renamed protos do not linger. The output only depends on the proto
sources and the installed grpcio-tools version. ``--out`` lets tests generate into a temporary
directory and compare with the committed ``generated/``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
DEFAULT_OUT = ROOT / "generated"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[str]:
    """All .proto files, relative to PROTO_DIR, POSIX separators, sorted."""
    return sorted(p.relative_to(PROTO_DIR).as_posix() for p in PROTO_DIR.rglob("*.proto"))


def clean(out: Path) -> None:
    """Delete stale generated files (and caches / directories left empty) under ``out``."""
    if not out.is_dir():
        return
    for path in sorted(out.rglob("*"), reverse=True):
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
            path.unlink()
        elif path.is_file() and path.parent.name == "__pycache__":
            path.unlink()
    # Deepest first, so parents emptied by removing children are removed too.
    for path in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(path.iterdir()):
            path.rmdir()


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    clean(out)
    files = proto_files()
    if not files:
        raise SystemExit(f"no .proto files under {PROTO_DIR}")
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I.",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    # Run from PROTO_DIR so protoc sees exactly the relative names listed above.
    env = dict(os.environ, PYTHONHASHSEED="0")
    subprocess.run(cmd, check=True, cwd=PROTO_DIR, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory (default: {DEFAULT_OUT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    generate(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
