"""service.cli.main run in-process (docs/configuration.md#command-line)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
import time
import tomllib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli import KEY_DEPENDENCIES, main, static_app
from service.config import Config


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("CENTRIFUGO_"):
            monkeypatch.delenv(var)


def _config(tmp_path: Path, data: dict[str, Any] | None = None) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"token_hmac_secret_key": "s3cr3t"} if data is None else data))
    return str(path)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    first, *rest = capsys.readouterr().out.splitlines()
    assert first.startswith("Gyre v")  # the v4-style first line is kept
    assert first.endswith(f"(Centrifugo v4.1.5 compatible; Python {platform.python_version()})")
    rows = dict(line.split(maxsplit=1) for line in rest)
    assert list(rows) == ["python", *KEY_DEPENDENCIES]
    assert rows["python"] == f"{platform.python_version()} ({platform.python_implementation()})"
    for name in KEY_DEPENDENCIES:
        assert rows[name].startswith(importlib.metadata.version(name)), (name, rows[name])
    assert rows["protobuf"].endswith(" backend)")


def _parse(name: str, text: str) -> Any:
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith(".toml"):
        return tomllib.loads(text)
    return yaml.safe_load(text)


@pytest.mark.parametrize("name", ["config.json", "config.yaml", "config.yml", "config.toml"])
def test_genconfig(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    assert main(["genconfig", "-c", str(path)]) == 0
    data = _parse(name, path.read_text())
    assert set(data) == {
        "token_hmac_secret_key",
        "admin_password",
        "admin_secret",
        "api_key",
        "allowed_origins",
    }
    assert data["allowed_origins"] == []
    secrets = [data[k] for k in ("token_hmac_secret_key", "admin_password", "admin_secret")]
    assert all(len(s) == 36 for s in secrets)
    assert len(set(secrets)) == 3
    # the generated file is a valid config
    assert main(["checkconfig", "-c", str(path)]) == 0
    # refuses to overwrite
    before = path.read_text()
    assert main(["genconfig", "-c", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert path.read_text() == before


def test_genconfig_unknown_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["genconfig", "-c", str(tmp_path / "c.ini")]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "c.ini").exists()


def test_checkconfig_good(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkconfig", "-c", _config(tmp_path)]) == 0
    assert "error" not in capsys.readouterr().err


def test_checkconfig_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, {"namespaces": [{"name": "a b"}]})
    assert main(["checkconfig", "-c", path]) == 1
    err = capsys.readouterr().err
    assert err == 'error: namespaces[0].name: "a b" does not match ^[-a-zA-Z0-9_.]{2,}$\n'


def test_checkconfig_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkconfig", "-c", str(tmp_path / "nope.json")]) == 1
    assert "not found" in capsys.readouterr().err


def test_checkconfig_parse_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text("{")
    assert main(["checkconfig", "-c", str(path)]) == 1
    assert "invalid JSON" in capsys.readouterr().err


def test_checkconfig_warns_unknown_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkconfig", "-c", _config(tmp_path, {"bogus": 1})]) == 0
    assert 'warning: unknown key "bogus" in config file' in capsys.readouterr().err


def _token(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_gentoken_checktoken_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path)
    assert main(["gentoken", "-c", path, "-u", "42"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('HMAC SHA-256 JWT for user "42" with expiration TTL 168h0m0s:\n')
    token = _token(out)
    assert main(["checktoken", "-c", path, token]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "valid token for user 42"
    assert lines[1].startswith("payload: ")
    payload = json.loads(lines[1][len("payload: ") :])
    assert payload["sub"] == "42"
    assert payload["exp"] - payload["iat"] == 604800


def test_gentoken_custom_ttl_and_anonymous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gentoken", "-c", _config(tmp_path), "-t", "90"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("HMAC SHA-256 JWT for anonymous user with expiration TTL 1m30s:\n")


def test_gensubtoken_checksubtoken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path)
    assert main(["gensubtoken", "-c", path, "-u", "7", "-s", "chat:index", "-t", "60"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        'HMAC SHA-256 JWT for user "7" and channel "chat:index" with expiration TTL 1m0s:\n'
    )
    assert main(["checksubtoken", "-c", path, _token(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == 'valid subscription token for user "7" and channel "chat:index"'
    assert json.loads(lines[1][len("payload: ") :])["channel"] == "chat:index"


def test_gensubtoken_requires_channel(tmp_path: Path) -> None:
    assert main(["gensubtoken", "-c", _config(tmp_path), "-u", "7"]) != 0


def test_gentoken_without_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gentoken", "-c", _config(tmp_path, {}), "-u", "1"]) == 1
    assert "error: no HMAC secret key set" in capsys.readouterr().err


def test_gentoken_secret_from_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENTRIFUGO_TOKEN_HMAC_SECRET_KEY", "envsecret")
    assert main(["gentoken", "-c", str(tmp_path / "missing.json"), "-u", "1"]) == 0
    token = _token(capsys.readouterr().out)
    assert main(["checktoken", "-c", _config(tmp_path, {}), token]) == 0


def test_checktoken_expired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from service.auth import generate_token

    token = generate_token(secret="s3cr3t", user="1", ttl=0, extra={"exp": int(time.time()) - 100})
    assert main(["checktoken", "-c", _config(tmp_path), token]) == 1
    assert capsys.readouterr().err == "error: token expired\n"


def test_checktoken_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from service.auth import generate_token

    token = generate_token(secret="other", user="1", ttl=60)
    assert main(["checktoken", "-c", _config(tmp_path), token]) == 1
    assert capsys.readouterr().err.startswith("error: token invalid: ")
    assert main(["checksubtoken", "-c", _config(tmp_path), "garbage"]) == 1
    assert capsys.readouterr().err.startswith("error: token invalid: ")


def test_checksubtoken_rejects_connection_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path)
    assert main(["gentoken", "-c", path, "-u", "1"]) == 0
    token = _token(capsys.readouterr().out)
    assert main(["checksubtoken", "-c", path, token]) == 1
    assert capsys.readouterr().err.startswith("error: token invalid: ")


def test_checktoken_requires_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checktoken", "-c", _config(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: ")


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    calls: list[Config] = []
    module = types.ModuleType("service.app")

    def serve(cfg: Config, *, reloader: Callable[[], Config] | None = None) -> int:
        calls.append(cfg)
        assert reloader is not None and reloader() == cfg  # SIGHUP re-reads the same sources
        return 0

    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "service.app", module)
    return calls


def test_run_server_passes_only_given_flags(
    tmp_path: Path, fake_serve: list[Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, {"port": 8100, "address": "127.0.0.1", "admin": True})
    monkeypatch.setenv("CENTRIFUGO_ADDRESS", "0.0.0.0")
    argv = ["-c", path, "-p", "8200", "--health", "--grpc_api_port", "10500", "-e", "memory"]
    assert main(argv) == 0
    (cfg,) = fake_serve
    assert cfg.port == 8200  # flag beats file
    assert cfg.address == "0.0.0.0"  # env beats file, the -a default does not interfere
    assert cfg.admin is True  # not given as a flag: the file value stays
    assert cfg.health is True
    assert cfg.grpc_api_port == 10500
    assert cfg.uni_grpc_port == 11000


def test_run_server_bool_flags_take_explicit_values(
    tmp_path: Path, fake_serve: list[Config], capsys: pytest.CaptureFixture[str]
) -> None:
    """v4's flag parser (pflag) also takes ``--flag=value`` for bool flags: ``--admin=false``
    turns off what the file turns on; the value is Go's ParseBool."""
    path = _config(tmp_path, {"admin": True, "health": False})
    argv = ["-c", path, "--admin=false", "--health=true", "--prometheus=1", "--sockjs", "--tls=F"]
    assert main(argv) == 0
    (cfg,) = fake_serve
    assert (cfg.admin, cfg.health, cfg.prometheus, cfg.sockjs, cfg.tls) == (
        False, True, True, True, False,
    )  # fmt: skip
    assert main(["-c", path, "--health=maybe"]) == 1
    assert capsys.readouterr().err.startswith('error: health: invalid boolean "maybe"')
    assert len(fake_serve) == 1


def test_run_server_config_error(
    tmp_path: Path, fake_serve: list[Config], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, {"engine": "tarantool"})
    assert main(["-c", path]) == 1
    assert capsys.readouterr().err.startswith('error: engine: "tarantool" is not supported')
    assert fake_serve == []


def test_run_server_missing_config_warns(
    tmp_path: Path, fake_serve: list[Config], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-c", str(tmp_path / "none.json"), "--client_insecure"]) == 0
    assert fake_serve[0].client_insecure is True
    assert "warning: config file" in capsys.readouterr().err


def test_run_server_default_config_path(
    tmp_path: Path, fake_serve: list[Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _config(tmp_path, {"api_key": "from-default-path"})
    assert main([]) == 0
    assert fake_serve[0].api_key == "from-default-path"


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "genconfig" in capsys.readouterr().out


async def test_static_serve_app(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A")
    async with TestClient(TestServer(static_app(str(tmp_path)))) as client:
        resp = await client.get("/")
        assert resp.status == 200
        assert await resp.text() == "<h1>hi</h1>"
        resp = await client.get("/sub/a.txt")
        assert await resp.text() == "A"
        assert (await client.get("/missing")).status == 404
        assert (await client.get("/../etc/passwd")).status == 404
        for bad in ("/%00", "/a%00b", "/%ff"):  # no possible file name: 404, not a 500
            assert (await client.get(bad)).status == 404, bad
