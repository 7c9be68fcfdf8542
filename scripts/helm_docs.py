#!/usr/bin/env python3
"""Generate the values table of helm/README.md from helm/values.schema.json and values.yaml.

The schema holds each value's type and description, values.yaml its default; the table between
the ``<!-- values:begin -->`` and ``<!-- values:end -->`` markers of helm/README.md is written
from both, one row per leaf value, in values.yaml order.

    .venv/bin/python scripts/helm_docs.py           # rewrite the table
    .venv/bin/python scripts/helm_docs.py --check   # exit 1 if the table is stale or if
                                                    # values.yaml and the schema disagree

A leaf is a value whose schema has no ``properties`` (a scalar, a list, or a free-form map
such as ``resources``) or which values.yaml does not give as a map. Every leaf of values.yaml
must be in the schema and every schema property in values.yaml (:func:`mismatches`).
tests/helm/test_values_docs.py runs the check.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm"
BEGIN = "<!-- values:begin -->"
END = "<!-- values:end -->"


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    """(values.yaml, values.schema.json) of the chart."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    return values, schema


def leaves(
    values: dict[str, Any], schema: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any] | None, Any]]:
    """(dotted key, schema node or None when the schema lacks it, default) for each leaf."""
    props = schema.get("properties", {})
    for key, value in values.items():
        node = props.get(key)
        path = prefix + key
        if node is not None and node.get("properties") and isinstance(value, dict):
            yield from leaves(value, node, path + ".")
        else:
            yield path, node, value


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, node in schema.get("properties", {}).items():
        yield prefix + key
        yield from _schema_paths(node, prefix + key + ".")


def _value_paths(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict):
        for key, value in values.items():
            yield prefix + key
            yield from _value_paths(value, prefix + key + ".")


def mismatches(values: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Leaves of values.yaml the schema does not describe, schema properties values.yaml
    lacks, and schema properties without a description."""
    problems = [
        f"{path}: in values.yaml, not in the schema"
        for path, node, _ in leaves(values, schema)
        if node is None
    ]
    given = set(_value_paths(values))
    problems += [
        f"{path}: in the schema, not in values.yaml"
        for path in _schema_paths(schema)
        if path not in given
    ]
    problems += [f"{path}: no description in the schema" for path in _undescribed(schema)]
    return problems


def _undescribed(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, node in schema.get("properties", {}).items():
        if not node.get("description"):
            yield prefix + key
        yield from _undescribed(node, prefix + key + ".")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _default(value: Any) -> str:
    return "`" + _cell(json.dumps(value, separators=(", ", ": "))) + "`"


def table(values: dict[str, Any], schema: dict[str, Any]) -> str:
    """The markdown table: key, type, default, description."""
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path, node, value in leaves(values, schema):
        node = node or {}
        text = node.get("description", "")
        if "enum" in node:
            text += " One of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"]) + "."
        rows.append(f"| `{path}` | {_type(node)} | {_default(value)} | {_cell(text)} |")
    return "\n".join(rows)


def render(readme: str, values: dict[str, Any], schema: dict[str, Any]) -> str:
    """``readme`` with the text between the markers replaced by the current table."""
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"helm_docs: {BEGIN} ... {END} markers not found in helm/README.md")
    return f"{head}{BEGIN}\n{table(values, schema)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    values, schema = load()
    problems = mismatches(values, schema)
    for problem in problems:
        print(f"helm_docs: {problem}", file=sys.stderr)
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    fresh = render(readme, values, schema)
    if "--check" in argv:
        if fresh != readme:
            print(
                "helm_docs: helm/README.md is stale: run .venv/bin/python scripts/helm_docs.py",
                file=sys.stderr,
            )
            return 1
        return 1 if problems else 0
    readme_path.write_text(fresh)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
