"""helm/values.schema.json and helm/README.md describe exactly the values of helm/values.yaml."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import jsonschema  # a dependency of kubernetes-validate (test extra)
import pytest
import yaml

from scripts import helm_docs
from tests.helm.render import CHART, ROOT, VALUES_ALL, VALUES_REDIS

# Maps whose keys are open by design: parent charts' globals, and every Centrifugo option.
OPEN_MAPS = {"global", "config"}


def test_every_value_is_in_the_schema_and_back() -> None:
    values, schema = helm_docs.load()
    assert helm_docs.mismatches(values, schema) == []


def test_the_check_catches_a_missing_value_or_description() -> None:
    values, schema = helm_docs.load()
    extra = copy.deepcopy(values)
    extra["probes"]["liveness"]["type"] = "grpc"
    assert helm_docs.mismatches(extra, schema) == [
        "probes.liveness.type: in values.yaml, not in the schema"
    ]
    missing = copy.deepcopy(values)
    del missing["ingressInternal"]["tls"]
    assert helm_docs.mismatches(missing, schema) == [
        "ingressInternal.tls: in the schema, not in values.yaml"
    ]
    undescribed = copy.deepcopy(schema)
    del undescribed["properties"]["secrets"]["properties"]["natsUrl"]["description"]
    assert helm_docs.mismatches(values, undescribed) == [
        "secrets.natsUrl: no description in the schema"
    ]


def test_readme_values_table_is_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "helm_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    values, schema = helm_docs.load()
    readme = (CHART / "README.md").read_text()
    for path, _, _ in helm_docs.leaves(values, schema):
        assert f"| `{path}` |" in readme
    # A changed description makes it stale.
    schema["properties"]["replicaCount"]["description"] = "changed"
    assert helm_docs.render(readme, values, schema) != readme


def _objects(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if node.get("type") == "object" and "properties" in node:
        yield path, node
    for key, child in node.get("properties", {}).items():
        yield from _objects(child, f"{path}.{key}" if path else key)


def test_schema_is_draft7_and_closed_where_sensible() -> None:
    _, schema = helm_docs.load()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    for path, node in _objects(schema):
        if path in OPEN_MAPS:
            assert node.get("additionalProperties", True) is not False, path
        else:
            assert node.get("additionalProperties") is False, path


@pytest.mark.parametrize(
    "values_file",
    [CHART / "values.yaml", VALUES_ALL, VALUES_REDIS],
    ids=["values.yaml", "values-all", "redis-example"],
)
def test_values_files_match_the_schema(values_file: Any) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load(values_file.read_text())
    jsonschema.Draft7Validator(schema).validate(values)
