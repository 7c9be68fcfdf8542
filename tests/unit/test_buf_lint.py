"""`buf lint` (STANDARD, exemptions in buf.yaml) must pass cleanly on proto/, and `buf breaking`
(FILE rules) must find no change against the protos of the last release.

The last release's protos are a committed buf image, tests/buf/release-v<version>.binpb, so the
check works on a clean clone without tags or network. No release is tagged yet: the baseline is
the v0.1.0 protos. At each release, `bash scripts/buf_baseline.sh <tag>` replaces it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINES = ROOT / "tests" / "buf"


def _buf() -> str:
    # buf-bin (locked in the test extra) installs the `buf` executable next to the interpreter.
    name = "buf.exe" if os.name == "nt" else "buf"
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("buf")
    assert found, "buf is not installed: scripts/bootstrap.sh test installs buf-bin"
    return found


def _baseline() -> Path:
    (image,) = BASELINES.glob("release-v*.binpb")
    return image


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_buf(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_buf_lint_clean() -> None:
    proc = _run("lint")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output == ""


def test_buf_breaking_against_last_release() -> None:
    proc = _run("breaking", "--against", str(_baseline()))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output == ""


def test_baseline_is_a_release_not_newer_than_this_one() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    released = _baseline().name.removeprefix("release-v").removesuffix(".binpb")
    assert _version(released) <= _version(project)


def test_buf_breaking_detects_a_renumbered_field(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    shutil.copy2(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    api = tmp_path / "proto" / "centrifugal" / "centrifugo" / "api" / "api.proto"
    text = api.read_text()
    message = re.search(r"^message PublishRequest \{\n(.*?)^\}", text, re.M | re.S)
    assert message is not None
    body = re.sub(r"(\bdata = )2;", r"\g<1>20;", message.group(1), count=1)
    assert body != message.group(1)
    api.write_text(text[: message.start(1)] + body + text[message.end(1) :])

    assert _run("build", cwd=tmp_path).returncode == 0  # still valid protobuf
    proc = _run("breaking", "--against", str(_baseline()), cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 100, output  # buf's exit code for breaking changes
    assert (
        'Previously present field "2" with name "data" on message "PublishRequest" was deleted'
        in output
    )
