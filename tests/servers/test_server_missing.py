"""A missing test server skips on a laptop and fails in CI / `make test`
(tests/servers/require.py).

Each server fixture is run by a separate pytest process on a one-test file,
with its binary pointed at a path that does not exist through the variable the
fixture reads, once without and once with the variable that requires the
servers; the outcome and the stated reason are read from that run's summary.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.require import REQUIRE_VARIABLES, server_missing, servers_required_by

REPO = Path(__file__).resolve().parents[2]

# fixture, the plugin that defines it, the variable naming its binary, a word of the skip reason
SERVERS = [
    ("dovecot", "tests.servers.dovecot", "JMAP_TEST_DOVECOT", "Dovecot is not installed"),
    ("openbao", "tests.servers.openbao", "JMAP_TEST_BAO", "OpenBao binary 'bao' not found"),
    ("postgres", "tests.servers.postgres", "JMAP_TEST_PG_BINDIR", "PostgreSQL is not installed"),
    ("redis_server", "tests.servers.redis", "JMAP_TEST_REDIS_SERVER", "redis-server is not installed"),
    ("radicale", "tests.servers.radicale", "JMAP_TEST_RADICALE", "Radicale is not installed"),
    ("xandikos_server", "tests.servers.xandikos", "JMAP_TEST_XANDIKOS", "Xandikos is not installed"),
]


@pytest.fixture
def no_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own CI / JMAP_TEST_REQUIRE_SERVERS must not decide the outcome."""
    for name in REQUIRE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", " 0 "])
def test_off_values_skip(no_requirement: None, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    monkeypatch.setenv("JMAP_TEST_REQUIRE_SERVERS", value)
    assert servers_required_by() is None
    with pytest.raises(pytest.skip.Exception, match=r"^no such server$"):
        server_missing("no such server")


@pytest.mark.parametrize("name", REQUIRE_VARIABLES)
@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on"])
def test_any_other_value_fails(no_requirement: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    assert servers_required_by() == name
    with pytest.raises(pytest.fail.Exception, match=f"^no such server .*because {name} is set"):
        server_missing("no such server")


def _run_fixture(tmp_path: Path, *, fixture: str, plugin: str, variable: str, require: dict[str, str]) -> str:
    """pytest on a file whose only test needs `fixture`, with its binary missing; the run's output."""
    test_file = tmp_path / "test_needs_server.py"
    test_file.write_text(f"def test_needs_server({fixture}):\n    assert {fixture} is not None\n")
    env = {key: value for key, value in os.environ.items() if key not in REQUIRE_VARIABLES}
    env.update(require)
    env[variable] = str(tmp_path / "not-installed" / "binary")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    # Only the server's plugin: no Django, hypothesis, ... to start (and none of their options to honour).
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsE", "-p", "no:cacheprovider", "-p", plugin,
         "--rootdir", str(tmp_path), "-c", os.devnull, str(test_file)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize(("fixture", "plugin", "variable", "reason"), SERVERS)
def test_missing_server_is_skipped_with_its_reason(
    tmp_path: Path, fixture: str, plugin: str, variable: str, reason: str
) -> None:
    output = _run_fixture(tmp_path, fixture=fixture, plugin=plugin, variable=variable, require={})
    assert output.startswith("exit 0\n"), output
    assert "1 skipped" in output and "error" not in output, output
    assert "SKIPPED [1] " in output and reason in output, output


@pytest.mark.parametrize(("fixture", "plugin", "variable", "reason"), SERVERS)
@pytest.mark.parametrize("require", [{"CI": "true"}, {"JMAP_TEST_REQUIRE_SERVERS": "1"}], ids=["CI", "make-test"])
def test_missing_server_fails_where_required(
    tmp_path: Path, fixture: str, plugin: str, variable: str, reason: str, require: dict[str, str]
) -> None:
    output = _run_fixture(tmp_path, fixture=fixture, plugin=plugin, variable=variable, require=require)
    assert output.startswith("exit 1\n"), output
    assert "1 error" in output and "skipped" not in output, output
    (name,) = require
    assert reason in output and f"because {name} is set" in output, output


def test_make_test_requires_the_servers() -> None:
    """`make test` installs the servers, then runs pytest with JMAP_TEST_REQUIRE_SERVERS=1."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed: the Makefile's test recipe cannot be printed")
    printed = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "test"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    runs = [line for line in printed.splitlines() if "bin/pytest" in line]
    assert runs, printed
    assert all("JMAP_TEST_REQUIRE_SERVERS=1 " in line.split("bin/pytest")[0] for line in runs), runs
