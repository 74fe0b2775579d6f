"""Every environment variable of the product README, with its default."""
from __future__ import annotations

from pathlib import Path

import pytest

from jmapsite.env import SOURCE_DIR, read_env

README_VARIABLES = [
    "BASEURL", "JMAP_PORT", "JMAP_MGMT_PORT", "JMAP_MGMT_HOST", "JMAP_DATADIR", "JMAP_HOME",
    "JMAP_IDLE_TIMEOUT", "JMAP_SYNC_INTERVAL", "JMAP_DEBUG", "JMAP_SECRET_KEY", "JMAP_OPENBAO_ADDR",
    "JMAP_OPENBAO_TOKEN", "JMAP_OPENBAO_ROLE_ID", "JMAP_OPENBAO_SECRET_ID", "JMAP_OPENBAO_MOUNT",
    "JMAP_OPENBAO_KEY", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "FASTMAIL_CLIENT_ID",
]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*README_VARIABLES, "DATABASE_URL", "REDIS_URL", "JMAP_MGMT_TOKEN", "JMAP_MGMT_ALLOW"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_readme_defaults(clean_env: pytest.MonkeyPatch) -> None:
    env = read_env()
    assert env.base_url == "http://localhost:9000"
    assert (env.jmap_port, env.mgmt_port, env.mgmt_host) == (9000, 8080, "127.0.0.1")
    assert env.datadir == Path("/data")
    assert env.home == SOURCE_DIR
    assert (env.idle_timeout, env.sync_interval) == (300, 30)
    assert env.debug is False
    assert (env.openbao_mount, env.openbao_key) == ("transit", "jmap-credentials")
    assert env.secret_key == env.openbao_addr == env.openbao_token == ""
    assert env.google_client_id == env.fastmail_client_id == ""
    assert env.mgmt_allow == ("127.0.0.0/8", "::1/128")


def test_default_baseurl_follows_the_jmap_port(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JMAP_PORT", "19000")
    assert read_env().base_url == "http://localhost:19000"


def test_every_variable_is_read(clean_env: pytest.MonkeyPatch) -> None:
    values = {
        "BASEURL": "https://jmap.example.com/", "JMAP_PORT": "9100", "JMAP_MGMT_PORT": "8180",
        "JMAP_MGMT_HOST": "::1", "JMAP_DATADIR": "/srv/jmap", "JMAP_HOME": "/opt/jmap",
        "JMAP_IDLE_TIMEOUT": "0", "JMAP_SYNC_INTERVAL": "120", "JMAP_DEBUG": "", "JMAP_SECRET_KEY": "k" * 10,
        "JMAP_OPENBAO_ADDR": "http://bao:8200", "JMAP_OPENBAO_TOKEN": "t", "JMAP_OPENBAO_ROLE_ID": "r",
        "JMAP_OPENBAO_SECRET_ID": "s", "JMAP_OPENBAO_MOUNT": "transit2", "JMAP_OPENBAO_KEY": "k2",
        "GOOGLE_CLIENT_ID": "g", "GOOGLE_CLIENT_SECRET": "gs", "FASTMAIL_CLIENT_ID": "f",
    }  # fmt: skip
    for name, value in values.items():
        clean_env.setenv(name, value)
    env = read_env()
    assert env.base_url == "https://jmap.example.com"  # no trailing slash, so URLs join cleanly
    assert (env.jmap_port, env.mgmt_port, env.mgmt_host) == (9100, 8180, "::1")
    assert (env.datadir, env.home) == (Path("/srv/jmap"), Path("/opt/jmap"))
    assert (env.idle_timeout, env.sync_interval) == (0, 120)
    assert env.debug is True  # "set to any value", even empty
    assert env.secret_key == "k" * 10
    assert (env.openbao_addr, env.openbao_token, env.openbao_role_id, env.openbao_secret_id) == (
        "http://bao:8200", "t", "r", "s",
    )  # fmt: skip
    assert (env.openbao_mount, env.openbao_key) == ("transit2", "k2")
    assert (env.google_client_id, env.google_client_secret, env.fastmail_client_id) == ("g", "gs", "f")


def test_a_port_that_is_not_a_number_stops_start_up(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JMAP_PORT", "nine-thousand")
    with pytest.raises(SystemExit, match="JMAP_PORT"):
        read_env()
