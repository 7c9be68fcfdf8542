"""The chart's workload around the pod: one Service per listener, replicas and the HPA,
graceful shutdown, security context, ServiceMonitor, PodDisruptionBudget, ingresses, init
containers and volumes."""

from __future__ import annotations

import json

from tests.helm.render import (
    FULLNAME,
    all_docs,
    container,
    default_docs,
    env_of,
    of_kind,
    one,
    redis_docs,
    template,
    template_error,
)


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


def test_redis_engine_with_several_replicas() -> None:
    # values-all: Redis engine, HPA from 3 replicas (the Deployment leaves replicas to the HPA).
    assert json.loads(one(all_docs(), "ConfigMap")["data"]["config.json"])["engine"] == "redis"
    assert "replicas" not in one(all_docs(), "Deployment")["spec"]
    hpa = one(all_docs(), "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 3
    assert hpa["spec"]["scaleTargetRef"]["name"] == FULLNAME
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
    # The shipped example: Redis, an HPA from 2 to 10 pods, an ingress to the client port.
    docs = redis_docs()
    assert "replicas" not in one(docs, "Deployment")["spec"]
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 2
    config = json.loads(one(docs, "ConfigMap")["data"]["config.json"])
    assert config["engine"] == "redis"
    assert config["redis_address"]
    backend = one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": FULLNAME, "port": {"name": "http"}}}
    assert one(docs, "Deployment")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_memory_engine_refuses_several_replicas() -> None:
    assert "memory engine" in template_error("--set", "replicaCount=3")
    allowed = template("--set", "replicaCount=3", "--set", "allowMemoryEngineReplicas=true")
    assert one(allowed, "Deployment")["spec"]["replicas"] == 3


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
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "internal"
    assert endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True
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
    ingress = one(all_docs(), "Ingress", FULLNAME)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "rt.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": FULLNAME, "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["secretName"] == "rt-example-tls"


def test_ingress_internal_routes_to_the_internal_service() -> None:
    ingress = one(all_docs(), "Ingress", f"{FULLNAME}-internal")
    assert ingress["spec"]["ingressClassName"] == "internal-nginx"
    assert ingress["metadata"]["labels"]["exposure"] == "internal"
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"
    }
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "rt-api.internal.example.com"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/api"
    # The backend is the internal Service, on the port serving the API.
    internal = one(all_docs(), "Service", f"{FULLNAME}-internal")
    assert path["backend"]["service"] == {
        "name": f"{FULLNAME}-internal",
        "port": {"name": "internal"},
    }
    assert internal["spec"]["ports"][0]["name"] == "internal"
    assert ingress["spec"]["tls"] == [
        {"secretName": "rt-internal-tls", "hosts": ["rt-api.internal.example.com"]}
    ]


def test_init_containers_and_volumes() -> None:
    pod = one(all_docs(), "Deployment")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["name"] == "wait-for-redis"
    # Rendered through tpl: template expressions in values are expanded.
    assert init["env"] == [{"name": "RELEASE", "value": "rt"}]
    assert {"name": "tls", "secret": {"secretName": "gyre-grpc-tls"}} in pod["volumes"]
    assert {"name": "tls", "mountPath": "/tls", "readOnly": True} in container(all_docs())[
        "volumeMounts"
    ]
    assert "initContainers" not in one(default_docs(), "Deployment")["spec"]["template"]["spec"]
