"""A stand-in Kubernetes API server, just enough for `helm template --dry-run=server`.

There is no cluster in the test environment, and Helm's ``lookup`` (which the chart uses to keep
generated keys across upgrades) only talks to a real API. This serves what Helm asks for on
loopback: ``/version``, discovery of the kinds the default chart renders, and GET of the
Secrets given to it (404 for anything else). It holds no logic of the chart's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RESOURCES = {
    "/api/v1": ("v1", [("secrets", "Secret"), ("configmaps", "ConfigMap"),
                       ("services", "Service"), ("serviceaccounts", "ServiceAccount")]),
    "/apis/apps/v1": ("apps/v1", [("deployments", "Deployment")]),
}  # fmt: skip
_APPS = {"groupVersion": "apps/v1", "version": "v1"}


def _discovery(path: str, objects: dict[str, Any]) -> Any:
    if path == "/version":
        return {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        group = {"name": "apps", "versions": [_APPS], "preferredVersion": _APPS}
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}
    if path in _RESOURCES:
        group_version, kinds = _RESOURCES[path]
        resources = [
            {"name": n, "singularName": k.lower(), "namespaced": True, "kind": k, "verbs": ["get"]}
            for n, k in kinds
        ]
        return {"kind": "APIResourceList", "groupVersion": group_version, "resources": resources}
    return objects.get(path)


@contextmanager
def kube_api(tmp: Path, secrets: list[dict[str, Any]]) -> Iterator[Path]:
    """Serve ``secrets`` (Secret manifests with metadata.name/namespace) on 127.0.0.1:<free>;
    yield the path of a kubeconfig pointing at it."""
    objects = {
        f"/api/v1/namespaces/{s['metadata']['namespace']}/secrets/{s['metadata']['name']}": s
        for s in secrets
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = _discovery(self.path.split("?", 1)[0], objects)
            status = 200 if body is not None else 404
            if body is None:
                body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                        "reason": "NotFound"}  # fmt: skip
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "stub",
                        "cluster": {"server": f"http://127.0.0.1:{server.server_port}"},
                    }
                ],
                "users": [{"name": "stub", "user": {"token": "stub"}}],
                "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub"}}],
                "current-context": "stub",
            }
        )
    )
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
