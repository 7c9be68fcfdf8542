"""The Helm chart under helm/: lint, render and validate against Kubernetes schemas.

Every rendered manifest is validated with kubernetes-validate in strict mode (unknown fields are
errors) against Kubernetes 1.29 and the newest schemas it ships; Helm itself checks the values
against helm/values.schema.json on every lint and template. Secrets and env vars are tested in
test_chart_secrets.py, Services, scaling, ingresses and the pod spec in test_chart_workload.py,
the values documentation in test_values_docs.py, the Dockerfile in test_image.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import kubernetes_validate  # PyPI kubernetes-validate (test extra)
import pytest
import yaml

from tests.helm.render import (
    CHART,
    VALUES_ALL,
    VALUES_REDIS,
    all_docs,
    container,
    default_docs,
    ensure_helm,
    env_of,
    helm,
    of_kind,
    one,
    redis_docs,
    run_helm,
    template,
    template_error,
)

# Kubernetes versions the manifests must be valid for: the oldest we test (1.29) and the newest
# schemas kubernetes-validate ships.
K8S_VERSIONS = sorted({"1.29.0", kubernetes_validate.latest_version()})

# API groups of CustomResourceDefinitions (no schema in kubernetes-validate). ServiceMonitor is
# a Prometheus Operator CRD: only such kinds skip schema validation, every built-in kind is
# validated strictly.
CRD_GROUPS = ("monitoring.coreos.com/",)


# --------------------------------------------------------------------------------------------
# helm lint / template / schema validation


def test_ensure_helm_is_idempotent() -> None:
    first = helm()
    again = ensure_helm(timeout=60)
    assert again.stdout.strip() == first
    assert "fetching" not in again.stderr
    assert subprocess.run([first, "version", "--short"], check=True).returncode == 0


@pytest.mark.parametrize(
    "values",
    [[], ["-f", str(VALUES_ALL)], ["-f", str(VALUES_REDIS)]],
    ids=["default", "all", "redis-example"],
)
def test_helm_lint_strict(values: list[str]) -> None:
    proc = run_helm("lint", "--strict", str(CHART), *values)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(
    "render",
    [default_docs, all_docs, redis_docs],
    ids=["default", "all", "redis-example"],
)
def test_manifests_match_kubernetes_schemas(render: Callable[[], Any], version: str) -> None:
    docs = list(render())
    assert docs
    validated = 0
    for doc in docs:
        if doc["apiVersion"].startswith(CRD_GROUPS):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} invalid for {version}: {exc}")
        validated += 1
    assert validated >= 5


def test_default_renders_only_the_basics() -> None:
    kinds = sorted(d["kind"] for d in default_docs())
    assert kinds == ["ConfigMap", "Deployment", "Secret", "Service", "ServiceAccount"]


def test_redis_ingress_hpa_example_renders_them() -> None:
    kinds = sorted(d["kind"] for d in redis_docs())
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "Service",
        "ServiceAccount",
    ]


def test_everything_on_renders_every_kind() -> None:
    kinds = {d["kind"] for d in all_docs()}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
    }
    # existingSecret: the chart makes no Secret of its own.
    assert not of_kind(all_docs(), "Secret")
    assert len(of_kind(all_docs(), "Ingress")) == 2
    for doc in all_docs():
        assert doc["metadata"]["namespace"] in {"realtime", "monitoring"}


# --------------------------------------------------------------------------------------------
# behaviour


def test_default_image_is_the_locally_built_gyre_app_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    c = container(default_docs())
    # What `docker build -t gyre:<appVersion> .` + `kind load docker-image` give.
    assert c["image"] == f"gyre:{chart['appVersion']}"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert "imagePullSecrets" not in one(default_docs(), "Deployment")["spec"]["template"]["spec"]


def test_image_registry_and_pull_secrets() -> None:
    assert container(all_docs())["image"] == "registry.example.com/realtime/gyre:0.1.0-test"
    pod = one(all_docs(), "Deployment")["spec"]["template"]["spec"]
    # global first, then the chart's own; names and {name} alike, without duplicates.
    assert pod["imagePullSecrets"] == [
        {"name": "global-registry-credentials"},
        {"name": "registry-credentials"},
    ]
    docs = template(
        "--set", "image.registry=ghcr.io/acme/", "--set", "global.imageRegistry=mirror.local:5000"
    )
    assert container(docs)["image"] == "mirror.local:5000/gyre:0.1.0"
    assert container(template("--set", "image.registry=ghcr.io/acme/"))["image"] == (
        "ghcr.io/acme/gyre:0.1.0"
    )


def test_container_runs_with_mounted_config() -> None:
    c = container(all_docs())
    assert c["args"][:2] == ["-c", "/centrifugo/config.json"]
    assert c["args"][2:] == ["--log_level", "debug"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/centrifugo"
    assert mounts["config"]["readOnly"] is True
    volumes = one(all_docs(), "Deployment")["spec"]["template"]["spec"]["volumes"]
    config_volume = next(v for v in volumes if v["name"] == "config")
    assert config_volume["configMap"]["name"] == one(all_docs(), "ConfigMap")["metadata"]["name"]


LIVE = {"path": "/health/live", "port": "http"}


def test_liveness_never_depends_on_the_engine() -> None:
    # Startup and liveness GET the process-only route; readiness the engine-aware /health.
    c = container(default_docs())
    assert c["startupProbe"]["httpGet"] == LIVE
    assert c["livenessProbe"]["httpGet"] == LIVE
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert env_of(default_docs())["CENTRIFUGO_HEALTH"]["value"] == "true"
    # Whatever the listeners: with every gRPC listener on, liveness is still HTTP.
    for docs in (all_docs(), redis_docs()):
        for probe in ("startupProbe", "livenessProbe"):
            assert container(docs)[probe]["httpGet"] == {"path": "/health/live", "port": "internal"}
            assert "grpc" not in container(docs)[probe]


def test_probes_use_the_internal_port_when_set() -> None:
    c = container(all_docs())
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["internal"] == 9000
    assert env_of(all_docs())["CENTRIFUGO_INTERNAL_PORT"]["value"] == "9000"
    assert c["startupProbe"]["failureThreshold"] == 60
    assert c["livenessProbe"]["periodSeconds"] == 15
    docs = template("--set", "internalService.enabled=true")
    assert container(docs)["readinessProbe"]["httpGet"] == {"path": "/health", "port": "internal"}


def test_probes_follow_health_handler_prefix() -> None:
    c = container(template("--set", "config.health_handler_prefix=/hc/"))
    assert c["livenessProbe"]["httpGet"]["path"] == "/hc/live"
    assert c["startupProbe"]["httpGet"]["path"] == "/hc/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/hc"
    # "" serves health at / (and liveness at /live), as the server does.
    c = container(template("--set-string", "config.health_handler_prefix="))
    assert c["livenessProbe"]["httpGet"]["path"] == "/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/"


def test_probes_speak_https_to_a_tls_listener() -> None:
    # config.tls: every HTTP listener speaks TLS, so plain-HTTP probes would never pass.
    tls = ("--set", "config.tls=true", "--set", "config.tls_cert=/tls/tls.crt")
    c = container(template(*tls, "--set", "config.tls_key=/tls/tls.key"))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {
            "path": "/health" if probe == "readinessProbe" else "/health/live",
            "port": "http",
            "scheme": "HTTPS",
        }
    # tls_external leaves the internal listener (where the probes go) plaintext.
    c = container(
        template(*tls, "--set", "config.tls_external=true", "--set", "internalService.enabled=true")
    )
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "internal"}
    # Kubernetes gRPC probes cannot speak TLS, and the gRPC listeners use the certificate too.
    c = container(
        template(
            *tls, "--set", "grpcApiService.enabled=true", "--set", "probes.readiness.type=auto"
        )
    )
    assert c["readinessProbe"]["httpGet"]["scheme"] == "HTTPS" and "grpc" not in c["readinessProbe"]


def test_grpc_readiness_targets_a_grpc_port() -> None:
    # values-all: readiness type auto with gRPC listeners -> grpc on probes.grpcListener.
    assert container(all_docs())["readinessProbe"]["grpc"] == {"port": 10000}
    docs = template(
        "--set", "grpcStreamService.enabled=true",
        "--set", "probes.readiness.type=grpc",
        "--set", "probes.grpcService=gyre",
    )  # fmt: skip
    assert container(docs)["readinessProbe"]["grpc"] == {"port": 11001, "service": "gyre"}
    assert container(docs)["livenessProbe"]["httpGet"] == LIVE
    auto_without_grpc = template("--set", "probes.readiness.type=auto")
    assert container(auto_without_grpc)["readinessProbe"]["httpGet"]["path"] == "/health"


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of a values file over the chart's values: maps merge, the rest replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def test_configmap_holds_values_config_as_json() -> None:
    chart_defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    default_cm = one(default_docs(), "ConfigMap")
    assert json.loads(default_cm["data"]["config.json"]) == chart_defaults
    values = yaml.safe_load(VALUES_ALL.read_text())["config"]
    cm = one(all_docs(), "ConfigMap")
    assert json.loads(cm["data"]["config.json"]) == _merged(chart_defaults, values)
    # Nested options (namespaces) arrive intact.
    assert json.loads(cm["data"]["config.json"])["namespaces"][0]["history_ttl"] == "300s"


def _checksums(docs: Any) -> dict[str, str]:
    annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    return {k: v for k, v in annotations.items() if k.startswith("checksum/")}


def test_checksum_annotation_follows_values_config() -> None:
    base = _checksums(default_docs())
    assert re.fullmatch(r"[0-9a-f]{64}", base["checksum/config"])
    changed = _checksums(template("--set", "config.client_channel_limit=256"))
    assert changed["checksum/config"] != base["checksum/config"]
    again = _checksums(template("--set", "config.client_channel_limit=256"))
    assert again == changed
    # A value outside the config leaves the config checksum alone.
    assert (
        _checksums(template("--set", "resources.requests.cpu=1"))["checksum/config"]
        == (base["checksum/config"])
    )
    # The given secrets have their own checksum; generated keys (random in every `helm
    # template`, kept by lookup on a real upgrade) do not roll the pods.
    assert _checksums(template())["checksum/secret"] == base["checksum/secret"]
    secret_changed = _checksums(template("--set", "secrets.apiKey=k2"))
    assert secret_changed["checksum/secret"] != base["checksum/secret"]
    assert secret_changed["checksum/config"] == base["checksum/config"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "config.port=9999"], "config.port is managed by the chart"),
        (["--set", "config.api_key=x"], "config.api_key is managed by the chart"),
        (["--set", "terminationGracePeriodSeconds=30"], "terminationGracePeriodSeconds"),
        (["--set", "config.health=false"], "config.health is managed by the chart: always on"),
        (["--set", "config.redis_sentinel_password=x"], "secrets.redisSentinelPassword"),
        (["--set", "probes.readiness.type=grpc"], "needs an enabled gRPC listener"),
        (["--set", "probes.grpcListener=uniGrpc"], "uniGrpc names a gRPC listener that is not"),
        (["--set", "metrics.serviceMonitor.enabled=true"], "needs metrics.enabled"),
        (["--set", "ingressInternal.enabled=true"], "ingressInternal.enabled needs internal"),
        (
            ["--set", "podDisruptionBudget.enabled=true",
             "--set", "podDisruptionBudget.minAvailable=1",
             "--set", "podDisruptionBudget.maxUnavailable=1"],
            "set only one of minAvailable and maxUnavailable",
        ),
    ],
)  # fmt: skip
def test_inconsistent_values_fail_rendering(args: list[str], message: str) -> None:
    assert message in template_error(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Values of the previous chart version: an error naming them, never silently ignored.
        (["--set", "strategy.type=Recreate"], "'strategy' not allowed"),
        (["--set", "probes.liveness.type=grpc"], "'type' not allowed"),
        (["--set", "ingress.className=nginx"], "'className' not allowed"),
        (["--set", "extraVolumes[0].name=x"], "'extraVolumes' not allowed"),
        (["--set", "secrets.tokenHmacSecret=x"], "'tokenHmacSecret' not allowed"),
        (["--set", "service.type=Internal"], "service/type"),
        (["--set", "config.engine=tarantool"], "config/engine"),
        (["--set", "image.pullPolicy=Sometimes"], "image/pullPolicy"),
        (["--set", "envSecret[0].name=X"], "secretKeyRef"),
    ],
)
def test_schema_rejects_unknown_and_invalid_values(args: list[str], message: str) -> None:
    err = template_error(*args)
    assert "values don't meet the specifications of the schema" in err
    assert message in err
