"""Issue 13.3: the chart gives the gRPC server API a key by default."""

from __future__ import annotations

import base64

from .test_chart import CHART, RELEASE, one, run_helm, template


def _secret_data(*args: str) -> dict[str, str]:
    secret = one(template(*args), "Secret")
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_grpc_api_gets_a_generated_key() -> None:
    data = _secret_data("--set", "grpcApiService.enabled=true")
    key = data["grpcApiKey"]
    assert len(key) == 40 and key.isalnum()
    other = _secret_data("--set", "grpcApiService.enabled=true")["grpcApiKey"]
    assert other != key  # random, not a constant shipped with the chart


def test_given_key_wins_and_generation_can_be_turned_off() -> None:
    data = _secret_data("--set", "grpcApiService.enabled=true", "--set", "secrets.grpcApiKey=mine")
    assert data["grpcApiKey"] == "mine"
    data = _secret_data("--set", "grpcApiService.enabled=true", "--set", "generateGrpcApiKey=false")
    assert "grpcApiKey" not in data
    assert "grpcApiKey" not in _secret_data()  # no gRPC API, no key


def test_notes_say_how_to_read_the_key_or_warn() -> None:
    def notes(*args: str) -> str:
        proc = run_helm("install", RELEASE, str(CHART), "--dry-run", *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "jsonpath='{.data.grpcApiKey}'" in notes("--set", "grpcApiService.enabled=true")
    off = notes("--set", "grpcApiService.enabled=true", "--set", "generateGrpcApiKey=false")
    assert "WARNING: no grpcApiKey" in off
