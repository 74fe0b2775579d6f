"""The proxy as the Docker image starts it: the management port bound beyond
loopback (JMAP_MGMT_HOST=0.0.0.0) and no JMAP_MGMT_TOKEN. The first start
generates a token into the data directory (0600), the console says where (and
never what), and the management API and /metrics then require it; /healthz
stays open for Docker's health check. Requests go to 127.0.0.1 only."""
from __future__ import annotations

import stat
from collections.abc import Iterator

import httpx
import pytest

from tests.servers.proxy import ProxyProcess, proxy_start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exposed_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proxy = proxy_start(
        tmp_path_factory.mktemp("exposed-data"),
        extra_env={"JMAP_MGMT_HOST": "0.0.0.0"},  # noqa: S104 - the image's setting, under test
        args=("--web-only",),
    )
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        proxy.stop()


def test_first_start_writes_a_private_token_and_says_where(exposed_proxy: ProxyProcess) -> None:
    path = exposed_proxy.datadir / "mgmt-token"
    token = path.read_text().strip()
    assert len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    console = exposed_proxy.log_text()
    assert str(path) in console
    assert token not in console


def test_the_api_requires_the_generated_token(exposed_proxy: ProxyProcess) -> None:
    token = (exposed_proxy.datadir / "mgmt-token").read_text().strip()
    url = exposed_proxy.mgmt_url + "/api/accounts"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 403
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(url, headers=bearer, timeout=10).json() == []
    rebound = httpx.get(url, headers={**bearer, "Host": "attacker.example:8080"}, timeout=10)
    assert rebound.status_code == 403
    blind = httpx.post(url, headers=bearer, content=b"accountid=x", timeout=10)
    assert blind.status_code == 415


def test_metrics_require_it_and_healthz_does_not(exposed_proxy: ProxyProcess) -> None:
    token = (exposed_proxy.datadir / "mgmt-token").read_text().strip()
    assert httpx.get(exposed_proxy.mgmt_url + "/metrics", timeout=10).status_code == 401
    scrape = httpx.get(exposed_proxy.mgmt_url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert scrape.status_code == 200 and "jmap_uptime_seconds" in scrape.text
    assert httpx.get(exposed_proxy.mgmt_url + "/healthz", timeout=10).status_code == 200
