"""Thread CPU of backends.jmap.http11_wire reading one typical upstream answer, now and at other revisions.

    .venv/bin/python bench/http11_wire_cpu.py [--rev c31525f ...] [--rounds 21] [--reads 4000]

The answer is what Cyrus sends for the list view's Email/get (nine header
fields, a 50-message JSON body, Content-Length framing). Each round reads it
`--reads` times per version, versions interleaved so that load on the shared
machine hits them alike; printed per version: min and median over the rounds
of the thread CPU (time.thread_time) per read, head and body. A `--rev`'s
module is taken from git (`git show <rev>:backends/jmap/http11_wire.py`).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
MODULE = "backends/jmap/http11_wire.py"


def _load(name: str, source: str) -> ModuleType:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, handle.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    Path(handle.name).unlink()
    return module


def _answer() -> bytes:
    messages = [{"id": f"M{index}", "subject": "s" * 60} for index in range(50)]
    body = json.dumps({"methodResponses": [["Email/get", {"list": messages}, "0"]]}).encode()
    head = (
        "HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nServer: Cyrus-HTTP/3.6\r\n"
        "Content-Type: application/json; charset=utf-8\r\nCache-Control: no-cache\r\nVary: Accept-Encoding\r\n"
        "X-Frame-Options: DENY\r\nStrict-Transport-Security: max-age=600\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _per_read(module: ModuleType, answer: bytes, reads: int) -> float:
    started = time.thread_time()
    for _ in range(reads):
        pieces = [answer]
        wire = module.Wire(lambda most, pieces=pieces: pieces.pop() if pieces else b"")
        head = module.head_read(wire)
        module.body_read(wire, head, limit=1 << 24, too_large=ValueError, unasked=ValueError)
    return (time.thread_time() - started) / reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", action="append", default=[], help="also measure this git revision's module")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--reads", type=int, default=4000)
    options = parser.parse_args()
    versions = {"working tree": _load("wire_now", (ROOT / MODULE).read_text())}
    for index, rev in enumerate(options.rev):
        source = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, check=True, capture_output=True,
                                text=True).stdout  # fmt: skip
        versions[rev] = _load(f"wire_rev{index}", source)
    answer = _answer()
    figures: dict[str, list[float]] = {name: [] for name in versions}
    for _ in range(options.rounds):
        for name, module in versions.items():
            figures[name].append(_per_read(module, answer, options.reads))
    for name, values in figures.items():
        values.sort()
        print(f"{name:>14}: min {values[0] * 1e6:6.2f} us  median {values[len(values) // 2] * 1e6:6.2f} us "
              f"thread CPU per answer read ({len(answer)} octets)")  # fmt: skip


if __name__ == "__main__":
    main()
