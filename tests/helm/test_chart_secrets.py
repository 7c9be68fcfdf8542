"""The chart's secrets and env vars: Centrifugo's Secret keys, keys generated when not given
and kept on upgrade, existingSecret, env / envSecret / extraEnv."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helm.kube_api_stub import kube_api
from tests.helm.render import (
    CHART,
    FULLNAME,
    RELEASE,
    all_docs,
    container,
    default_docs,
    env_of,
    of_kind,
    one,
    run_helm,
    template,
    template_error,
)

# env var -> key in the Secret (Centrifugo chart's snake_case keys).
SECRET_ENV = {
    "CENTRIFUGO_TOKEN_HMAC_SECRET_KEY": "token_hmac_secret_key",
    "CENTRIFUGO_API_KEY": "api_key",
    "CENTRIFUGO_ADMIN_PASSWORD": "admin_password",
    "CENTRIFUGO_ADMIN_SECRET": "admin_secret",
    "CENTRIFUGO_GRPC_API_KEY": "grpc_api_key",
    "CENTRIFUGO_REDIS_ADDRESS": "redis_address",
    "CENTRIFUGO_REDIS_PASSWORD": "redis_password",
    "CENTRIFUGO_REDIS_SENTINEL_PASSWORD": "redis_sentinel_password",
    "CENTRIFUGO_NATS_URL": "nats_url",
}
# Generated when not given: key -> length.
GENERATED = {"grpc_api_key": 48, "admin_password": 24, "admin_secret": 48}


def _secret_data(docs: Any) -> dict[str, str]:
    secret = one(docs, "Secret")
    assert secret["metadata"]["name"] == FULLNAME
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_keys_not_given_are_generated() -> None:
    data = _secret_data(default_docs())
    assert set(data) == set(GENERATED)
    for key, length in GENERATED.items():
        assert re.fullmatch(f"[A-Za-z0-9]{{{length}}}", data[key]), key
    # Random per install: two fresh renders (no Secret in a cluster) differ.
    again = _secret_data(template())
    assert all(again[k] != data[k] for k in GENERATED)


def test_given_secrets_win_under_centrifugo_keys() -> None:
    docs = template(
        "--set", "secrets.tokenHmacSecretKey=s3cret",
        "--set", "secrets.apiKey=ak",
        "--set", "secrets.grpcApiKey=gk",
        "--set", "secrets.redisAddress=redis://:pw@redis:6379",
        "--set", "secrets.redisSentinelPassword=sp",
        "--set", "secrets.natsUrl=nats://nats:4222",
    )  # fmt: skip
    data = _secret_data(docs)
    assert {k: v for k, v in data.items() if k not in ("admin_password", "admin_secret")} == {
        "token_hmac_secret_key": "s3cret",
        "api_key": "ak",
        "grpc_api_key": "gk",
        "redis_address": "redis://:pw@redis:6379",
        "redis_sentinel_password": "sp",
        "nats_url": "nats://nats:4222",
    }
    env = env_of(docs)
    for var, key in SECRET_ENV.items():
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": FULLNAME, "key": key, "optional": True}
    # Secrets never land in the ConfigMap.
    config_json = one(docs, "ConfigMap")["data"]["config.json"]
    assert "s3cret" not in config_json
    assert "pw@redis" not in config_json


def test_upgrade_keeps_generated_keys(tmp_path: Path) -> None:
    """`lookup` finds the release's Secret: its generated keys are reused, given ones win."""
    existing = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": FULLNAME,
            "namespace": "realtime",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {
                "meta.helm.sh/release-name": RELEASE,
                "meta.helm.sh/release-namespace": "realtime",
            },
        },
        "data": {
            "grpc_api_key": base64.b64encode(b"grpc-from-install").decode(),
            "admin_password": base64.b64encode(b"pw-from-install").decode(),
            # Given at install, since removed from the values: not carried over.
            "api_key": base64.b64encode(b"old-api-key").decode(),
        },
    }
    server_side = ("--dry-run=server", "--disable-openapi-validation")
    with kube_api(tmp_path, [existing]) as kubeconfig:
        data = _secret_data(template(*server_side, kubeconfig=kubeconfig))
        given = _secret_data(
            template(*server_side, "--set", "secrets.grpcApiKey=new", kubeconfig=kubeconfig)
        )
    assert data["grpc_api_key"] == "grpc-from-install"
    assert data["admin_password"] == "pw-from-install"
    assert re.fullmatch("[A-Za-z0-9]{48}", data["admin_secret"])  # not there yet: generated
    assert "api_key" not in data
    assert given["grpc_api_key"] == "new"
    assert given["admin_password"] == "pw-from-install"


def test_existing_secret_is_read_with_centrifugo_keys() -> None:
    env = env_of(all_docs())
    for var, key in SECRET_ENV.items():
        assert env[var]["valueFrom"]["secretKeyRef"] == {
            "name": "gyre-secrets",
            "key": key,
            "optional": True,
        }
    assert not of_kind(all_docs(), "Secret")
    annotations = one(all_docs(), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" not in annotations
    err = template_error("--set", "existingSecret=mine", "--set", "secrets.apiKey=x")
    assert "secrets.apiKey is set, but existingSecret=mine is used" in err
    assert "as api_key" in err


def test_env_map_env_secret_and_extra_env() -> None:
    env = container(all_docs())["env"]
    names = [e["name"] for e in env]
    # Chart-managed first, then env (sorted), envSecret, extraEnv.
    user = names[names.index("CENTRIFUGO_CLIENT_CHANNEL_LIMIT") :]
    assert user == [
        "CENTRIFUGO_CLIENT_CHANNEL_LIMIT",
        "CENTRIFUGO_PRESENCE",
        "CENTRIFUGO_TOKEN_RSA_PUBLIC_KEY",
        "CENTRIFUGO_LOG_LEVEL",
        "POD_NAME",
    ]
    by_name = env_of(all_docs())
    assert by_name["CENTRIFUGO_CLIENT_CHANNEL_LIMIT"] == {
        "name": "CENTRIFUGO_CLIENT_CHANNEL_LIMIT",
        "value": "256",
    }
    # A YAML boolean becomes the string Kubernetes needs.
    assert by_name["CENTRIFUGO_PRESENCE"]["value"] == "true"
    assert by_name["CENTRIFUGO_TOKEN_RSA_PUBLIC_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "gyre-jwt", "key": "rsa_public_key"}
    }
    assert by_name["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert container(all_docs())["envFrom"] == [
        {"configMapRef": {"name": "gyre-extra-env", "optional": True}}
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "env.CENTRIFUGO_PORT=1"], "CENTRIFUGO_PORT is managed by the chart"),
        (["--set", "env.CENTRIFUGO_GRPC_API_KEY=k"], "secrets.grpcApiKey or existingSecret"),
        (
            ["--set", "envSecret[0].name=CENTRIFUGO_API_KEY",
             "--set", "envSecret[0].secretKeyRef.name=s",
             "--set", "envSecret[0].secretKeyRef.key=k"],
            "CENTRIFUGO_API_KEY is managed by the chart",
        ),
        (
            ["--set", "extraEnv[0].name=CENTRIFUGO_HEALTH_HANDLER_PREFIX",
             "--set", "extraEnv[0].value=/x"],
            "use config.health_handler_prefix",
        ),
        (
            ["--set", "env.A=1", "--set", "extraEnv[0].name=A", "--set", "extraEnv[0].value=2"],
            "env var A is given twice",
        ),
        (
            ["--set", "config.engine=redis", "--set", "config.redis_address=r:6379",
             "--set", "secrets.redisAddress=redis://:p@r:6379"],
            "set either config.redis_address or secrets.redisAddress, not both",
        ),
        (["--set", "config.grpc_api_key=k"], "config.grpc_api_key is managed by the chart"),
    ],
)  # fmt: skip
def test_conflicting_env_and_secrets_fail_rendering(args: list[str], message: str) -> None:
    assert message in template_error(*args)


def test_notes_say_how_to_read_generated_keys() -> None:
    proc = run_helm("install", RELEASE, str(CHART), "-n", "realtime", "--dry-run=client")
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    for key in GENERATED:
        assert (
            f"kubectl -n realtime get secret {FULLNAME} -o jsonpath='{{.data.{key}}}' | base64 -d"
            in notes
        )
    assert "/health/live" in notes
    assert "No secrets.apiKey is set" in notes
