"""The management token of jmapsite.mgmt_token: generated at the first start
whenever the management port listens beyond loopback (the Docker image), kept
0600 in $JMAP_DATADIR, read back by every process, never printed."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jmapsite.mgmt_token import (
    mgmt_host_is_loopback,
    mgmt_token_file,
    mgmt_token_notice,
    mgmt_token_resolve,
)

SOURCE = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("proxy.example", False)],  # noqa: S104
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert mgmt_host_is_loopback(host) is loopback


def test_on_loopback_without_a_token_none_is_made(tmp_path: Path) -> None:
    assert mgmt_token_resolve(configured="", datadir=tmp_path, mgmt_host="127.0.0.1") == ""
    assert not mgmt_token_file(datadir=tmp_path).exists()
    assert mgmt_token_notice(configured="", datadir=tmp_path) is None


def test_beyond_loopback_a_private_token_is_generated_once(tmp_path: Path) -> None:
    token = mgmt_token_resolve(configured="", datadir=tmp_path, mgmt_host="0.0.0.0")  # noqa: S104
    path = mgmt_token_file(datadir=tmp_path)
    assert len(token) >= 40
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The next start (or a sibling process) reads the same token back...
    assert mgmt_token_resolve(configured="", datadir=tmp_path, mgmt_host="0.0.0.0") == token  # noqa: S104
    # ...and it stays required if the port later moves to loopback.
    assert mgmt_token_resolve(configured="", datadir=tmp_path, mgmt_host="127.0.0.1") == token
    notice = mgmt_token_notice(configured="", datadir=tmp_path)
    assert notice is not None and str(path) in notice and token not in notice


def test_a_configured_token_wins_and_nothing_is_written(tmp_path: Path) -> None:
    chosen = "operator-chosen-token-" + "x" * 20
    assert mgmt_token_resolve(configured=chosen, datadir=tmp_path, mgmt_host="0.0.0.0") == chosen  # noqa: S104
    assert not mgmt_token_file(datadir=tmp_path).exists()
    assert mgmt_token_notice(configured=chosen, datadir=tmp_path) is None


def test_every_process_of_an_exposed_proxy_requires_the_same_token(tmp_path: Path) -> None:
    """Settings as the image's processes load them: JMAP_MGMT_HOST=0.0.0.0, no JMAP_MGMT_TOKEN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMAP_")}
    env.update(JMAP_DATADIR=str(tmp_path), JMAP_MGMT_HOST="0.0.0.0", DJANGO_SETTINGS_MODULE="jmapsite.settings")  # noqa: S104
    script = "from django.conf import settings; print(settings.JMAP_MGMT_TOKEN)"
    seen = set()
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=SOURCE, env=env, capture_output=True, text=True, timeout=120, check=True
        )
        seen.add(done.stdout.strip())
    assert seen == {mgmt_token_file(datadir=tmp_path).read_text().strip()}
    assert "" not in seen
