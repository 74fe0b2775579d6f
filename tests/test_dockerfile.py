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


def _env(name: str) -> str | None:
    found = re.search(rf"^\s*(?:ENV\s+)?{name}=(\S+?)\s*\\?$", DOCKERFILE, re.M)
    return found.group(1) if found else None


def test_the_management_port_is_not_open_to_docker_networks() -> None:
    """The image binds the management port beyond loopback, so it must not
    widen the token-free networks (once 172.16.0.0/12: every container) nor
    ship a fixed token; jmapsite.mgmt_token then generates one at first start."""
    assert _env("JMAP_MGMT_HOST") == "0.0.0.0"  # noqa: S104 - what the image declares
    assert "172.16.0.0/12" not in DOCKERFILE
    assert _env("JMAP_MGMT_ALLOW") is None
    assert _env("JMAP_MGMT_TOKEN") is None
    assert _env("JMAP_TRUSTED_PROXIES") is None  # X-Forwarded-For from loopback only


def test_the_image_bind_address_requires_a_token() -> None:
    from jmapsite.mgmt_token import mgmt_host_is_loopback

    host = _env("JMAP_MGMT_HOST")
    assert host is not None and not mgmt_host_is_loopback(host)
