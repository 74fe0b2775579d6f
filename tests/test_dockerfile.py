"""The Docker image can't be built here (no Docker engine), so check what it
declares and that the command it runs is the one the test suite runs."""
from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text()


def test_runs_as_an_unprivileged_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")


def test_exposes_both_ports_and_the_data_volume() -> None:
    assert re.search(r"^EXPOSE\s+9000\s+8080\s*$", DOCKERFILE, re.M)
    assert re.search(r'^VOLUME\s+\["/data"\]', DOCKERFILE, re.M)
    assert "JMAP_DATADIR=/data" in DOCKERFILE


def test_has_a_healthcheck_on_healthz() -> None:
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", DOCKERFILE, re.M)


def test_runs_the_same_command_as_the_tests() -> None:
    assert re.search(r'^CMD \["python", "manage.py", "runproxy"\]', DOCKERFILE, re.M)
    fixture = (Path(__file__).parent / "servers" / "proxy.py").read_text()
    assert '"manage.py", "runproxy"' in fixture
