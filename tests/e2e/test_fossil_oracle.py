"""Gyre's fossil encoder against the decoder of centrifuge-js 5.8 (the SDK's own
``applyDelta``, cut out of its installed build by ``tests/e2e/js/fossil_oracle.mjs``).

One Node process decodes every case: document versions with small edits (ASCII and multi-byte
UTF-8), random edits, moved blocks, unrelated data and the empty / tiny edge cases.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

from service.protocol import fossil
from tests.delta_docs import versions

JS = Path(__file__).resolve().parent / "js"


def _cases() -> list[tuple[bytes, bytes]]:
    rng = random.Random(5)
    cases: list[tuple[bytes, bytes]] = []
    for seed in (1, 2):
        docs = versions(25, seed=seed)
        cases += list(itertools.pairwise(docs))
    for _ in range(150):
        base = bytearray(rng.randbytes(rng.randint(0, 800)))
        target = bytearray(base)
        for _ in range(rng.randint(0, 6)):
            at = rng.randint(0, len(target))
            target[at : at + rng.randint(0, 30)] = rng.randbytes(rng.randint(0, 30))
        if rng.random() < 0.3:
            target = target[len(target) // 3 :] + target[: len(target) // 3]
        cases.append((bytes(base), bytes(target)))
    cases += [(b"", b""), (b"", b"x"), (b"x", b""), (b"0123456789abcdef", b"0123456789abcdeF")]
    cases.append((os.urandom(3000), os.urandom(3000)))
    return cases


def test_centrifuge_js_decodes_every_delta() -> None:
    subprocess.run(["bash", str(JS.parents[2] / "scripts" / "ensure_node_deps.sh")], check=True)
    assert shutil.which("node") is not None, "node is not installed"
    cases = _cases()
    deltas = [fossil.create(base, target) for base, target in cases]
    lines = []
    for (base, _), delta in zip(cases, deltas, strict=True):
        assert delta is not None
        lines.append(
            json.dumps(
                {"base": base64.b64encode(base).decode(), "delta": base64.b64encode(delta).decode()}
            )
        )
    proc = subprocess.run(
        ["node", str(JS / "fossil_oracle.mjs")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS,
    )
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(cases)
    for i, ((_, target), result) in enumerate(zip(cases, results, strict=True)):
        assert "error" not in result, (i, result, deltas[i][:200])
        assert base64.b64decode(result["target"]) == target, i


def test_centrifuge_js_rejects_a_corrupted_delta() -> None:
    """The oracle is not a rubber stamp: a delta with one wrong byte is refused."""
    docs = versions(2)
    delta = fossil.create(docs[0], docs[1])
    assert delta is not None
    bad = delta[:-3] + (b"0" if delta[-3:-2] != b"0" else b"1") + delta[-2:]
    line = json.dumps(
        {"base": base64.b64encode(docs[0]).decode(), "delta": base64.b64encode(bad).decode()}
    )
    proc = subprocess.run(
        ["node", str(JS / "fossil_oracle.mjs")],
        input=line + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS,
    )
    assert json.loads(proc.stdout)["error"] == "bad checksum"
