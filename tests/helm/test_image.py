"""The Dockerfile, checked without a Docker engine (none on the test machine).

The build stage is replayed on the host: its COPY lines copy the same files into a temporary
directory and its RUN lines run there with /opt/gyre replaced by a temporary venv (the locked
install: `uv sync --frozen --no-dev --no-editable`). The result must hold no build-only package,
`gyre version` must run from it, and the HEALTHCHECK command, run with the runtime stage's ENV,
must pass against a server from that venv (also while Redis is unreachable) and fail when
nothing serves. What this cannot check: the base image itself, the LABELs as Docker applies
them, the user switch and file permissions, and `docker build` parsing the file.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from scripts import relock
from tests.helm.render import CHART, ROOT
from tests.redis_fixtures import RedisFactory, free_port, wait_until
from tests.tls_cert import write_self_signed

DOCKERFILE = ROOT / "Dockerfile"
IMAGE_VENV = "/opt/gyre"
# the test servers' certificates are self-signed
_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE


@dataclass(frozen=True)
class Instruction:
    stage: int  # 0 = build, 1 = runtime
    name: str
    args: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        name, _, args = text.partition(" ")
        if name.upper() == "FROM":
            stage += 1
        out.append(Instruction(stage, name.upper(), args.strip()))
    return out


def _env(stage: int) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions():
        if ins.stage == stage and ins.name == "ENV":
            for item in shlex.split(ins.args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _arg(name: str) -> str:
    for ins in instructions():
        if ins.name == "ARG" and ins.args.startswith(name + "="):
            return ins.args.split("=", 1)[1].strip('"')
    raise AssertionError(f"no ARG {name}")


def _healthcheck_cmd() -> list[str]:
    (check,) = [i for i in instructions() if i.name == "HEALTHCHECK"]
    _, _, exec_form = check.args.partition("CMD ")
    cmd: list[str] = json.loads(exec_form)
    return cmd


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage's COPY and RUN steps, replayed; returns the venv (the image's /opt/gyre)."""
    tmp = tmp_path_factory.mktemp("image")
    src, venv = tmp / "src", tmp / "venv"
    src.mkdir()
    uv = relock.uv()  # the uv release scripts/ensure_uv.sh pins
    env = dict(os.environ)
    env.update(_env(0))
    # The host's interpreter and uv cache stand in for the base image's and the network.
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON=sys.executable)
    for key in ("UV_NO_CACHE", "VIRTUAL_ENV"):
        env.pop(key, None)
    ran = []
    for ins in instructions():
        if ins.stage != 0:
            continue
        if ins.name == "COPY":
            *sources, dest = ins.args.split()
            for source in sources:
                target = src / dest / source if dest.endswith("/") else src / dest
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(ROOT / source, target)
        elif ins.name == "RUN":
            for step in ins.args.split("&&"):
                step = step.strip()
                if step.startswith("python -m pip install"):
                    continue  # installs uv itself, which the host has
                step = step.replace(IMAGE_VENV, str(venv))
                if step.startswith("uv "):
                    step = shlex.quote(uv) + step[2:]
                proc = subprocess.run(
                    ["bash", "-c", step], cwd=src, env=env, capture_output=True, text=True,
                    timeout=600,
                )  # fmt: skip
                assert proc.returncode == 0, f"{step}\n{proc.stdout}\n{proc.stderr}"
                ran.append(step)
    assert any("sync --frozen --no-dev --no-editable" in step for step in ran), ran
    return venv


def test_install_holds_no_build_only_packages(image_venv: Path) -> None:
    code = (
        "import importlib.util, json;"
        "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in "
        "('grpc_tools', 'setuptools', 'pip', 'wheel', 'uv', 'pytest', 'mypy',"
        " 'service', 'grpc', 'centrifugal.centrifuge.protocol.client_pb2')}))"
    )
    proc = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", "import service;" + code],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = json.loads(proc.stdout)
    assert found == {
        "grpc_tools": False,
        "setuptools": False,
        "pip": False,
        "wheel": False,
        "uv": False,
        "pytest": False,
        "mypy": False,
        "service": True,
        "grpc": True,
        "centrifugal.centrifuge.protocol.client_pb2": True,
    }
    # The admin web UI's static files are package data: installed with the package.
    assert list(image_venv.glob("lib/python*/site-packages/service/api/admin_web/index.html"))
    # Installed, not linked to the source tree (--no-editable): the image has no /src.
    assert not list(image_venv.glob("lib/python*/site-packages/*.pth"))
    assert not list(image_venv.glob("lib/python*/site-packages/__editable__*"))


def test_gyre_version_runs(image_venv: Path) -> None:
    proc = subprocess.run(
        [str(image_venv / "bin" / "gyre"), "version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert _arg("VERSION") in proc.stdout


Start = Callable[..., dict[str, str]]


@pytest.fixture
def serve(image_venv: Path, tmp_path: Path) -> Iterator[Start]:
    """Start `gyre -c config.json` from the replayed venv with the runtime stage's ENV plus
    ``extra``; yields a starter returning the environment it ran with."""
    procs: list[subprocess.Popen[bytes]] = []
    config = tmp_path / "config.json"
    config.write_text("{}")  # as the image: an empty config, everything from ENV

    def start(live_port_var: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(_env(1))
        env["PATH"] = f"{image_venv / 'bin'}:{os.environ['PATH']}"
        env["CENTRIFUGO_ADDRESS"] = "127.0.0.1"  # loopback only in tests
        env.update(extra)
        log = (tmp_path / f"server{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [str(image_venv / "bin" / "gyre"), "-c", str(config)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
        procs.append(proc)
        prefix = env.get("CENTRIFUGO_HEALTH_HANDLER_PREFIX", "/health").rstrip("/")
        scheme = "https" if env.get("CENTRIFUGO_TLS") == "true" else "http"
        url = f"{scheme}://127.0.0.1:{env[live_port_var]}{prefix}/live"
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (tmp_path / f"server{len(procs) - 1}.log").read_text()
            try:
                with urllib.request.urlopen(url, timeout=1, context=_NO_VERIFY):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"{url} never answered"
                time.sleep(0.1)
        return env

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthcheck(venv: Path, env: dict[str, str]) -> int:
    cmd = _healthcheck_cmd()
    assert cmd[0] == f"{IMAGE_VENV}/bin/python"
    return subprocess.run([str(venv / "bin" / "python"), *cmd[1:]], env=env, timeout=30).returncode


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_healthcheck_probes_the_liveness_route(image_venv: Path, serve: Start) -> None:
    assert _env(1)["CENTRIFUGO_HEALTH"] == "true"
    env = serve("CENTRIFUGO_PORT", CENTRIFUGO_PORT=str(free_port()))
    assert _healthcheck(image_venv, env) == 0
    # Health on an internal port: the check follows CENTRIFUGO_INTERNAL_PORT.
    internal = serve(
        "CENTRIFUGO_INTERNAL_PORT",
        CENTRIFUGO_PORT=str(free_port()),
        CENTRIFUGO_INTERNAL_PORT=str(free_port()),
        CENTRIFUGO_HEALTH_HANDLER_PREFIX="/hc",
    )
    assert _status(f"http://127.0.0.1:{internal['CENTRIFUGO_PORT']}/hc/live") == 404
    assert _healthcheck(image_venv, internal) == 0
    # Nothing serving there: the check fails.
    assert _healthcheck(image_venv, {**env, "CENTRIFUGO_PORT": str(free_port())}) != 0


def test_healthcheck_speaks_https_to_a_tls_port(
    image_venv: Path, serve: Start, tmp_path: Path
) -> None:
    """With ``tls: true`` the port answers only TLS: the check must ask it over HTTPS."""
    cert, key, _ = write_self_signed(tmp_path / "tls")
    env = serve(
        "CENTRIFUGO_PORT",
        CENTRIFUGO_PORT=str(free_port()),
        CENTRIFUGO_TLS="true",
        CENTRIFUGO_TLS_CERT=str(cert),
        CENTRIFUGO_TLS_KEY=str(key),
    )
    assert _healthcheck(image_venv, env) == 0


def test_healthcheck_passes_while_redis_is_down(image_venv: Path, serve: Start) -> None:
    redis = RedisFactory()
    try:
        server = redis.server()
        env = serve(
            "CENTRIFUGO_PORT",
            CENTRIFUGO_PORT=str(free_port()),
            CENTRIFUGO_ENGINE="redis",
            CENTRIFUGO_REDIS_ADDRESS=server.address,
            CENTRIFUGO_REDIS_CONNECT_TIMEOUT="1s",
            CENTRIFUGO_REDIS_IO_TIMEOUT="1s",
        )
        health = f"http://127.0.0.1:{env['CENTRIFUGO_PORT']}/health"
        assert _status(health) == 200
        server.stop()
        wait_until(lambda: _status(health) == 503, 10, "/health 503 with Redis down")
        # Docker would not mark the container unhealthy (nor an orchestrator restart it).
        assert _healthcheck(image_venv, env) == 0
    finally:
        redis.close()


def test_versions_and_labels_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert _arg("VERSION") == project["version"] == chart["appVersion"]
    ensure_uv = (ROOT / "scripts" / "ensure_uv.sh").read_text()
    assert f"UV_VERSION={_arg('UV_VERSION')}\n" in ensure_uv
    labels = " ".join(i.args for i in instructions() if i.stage == 1 and i.name == "LABEL")
    for key, value in {
        "title": '"gyre"',
        "description": '"A gRPC-first',
        "version": '"${VERSION}"',
        "revision": '"${REVISION}"',
        "source": '"${SOURCE}"',
        "licenses": f'"{project["license"]}"',
    }.items():
        assert f"org.opencontainers.image.{key}={value}" in labels, key


def test_runtime_stage_drops_installers_and_runs_unprivileged() -> None:
    runtime = [i for i in instructions() if i.stage == 1]
    (copy,) = [i for i in runtime if i.name == "COPY"]
    assert copy.args == f"--from=build {IMAGE_VENV} {IMAGE_VENV}"  # nothing else from build
    first_run = next(i for i in runtime if i.name == "RUN")
    assert first_run.args.startswith("python -m pip uninstall --yes --quiet pip setuptools wheel")
    assert not any("pip install" in i.args for i in runtime)


def test_dockerfile_matches_chart_defaults() -> None:
    text = DOCKERFILE.read_text()
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
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert values["image"]["repository"] == "gyre"
