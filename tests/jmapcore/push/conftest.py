"""The whole proxy (`manage.py runproxy`: the web process, Celery worker and beat) in
embedded mode for the push tests, and the people who use it: alice (a login
with two accounts), bob and mallory (one account each)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jmapcore.push.clients import PushPerson, person_add
from tests.servers.proxy import ProxyProcess, proxy_running


@pytest.fixture(scope="package")
def push_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with proxy_running(tmp_path_factory.mktemp("push-proxy-data")) as proxy:
        yield proxy


@pytest.fixture(scope="package")
def push_alice(push_proxy: ProxyProcess) -> PushPerson:
    return person_add(push_proxy, "alice", extra_accounts=1)


@pytest.fixture(scope="package")
def push_bob(push_proxy: ProxyProcess) -> PushPerson:
    return person_add(push_proxy, "bob")


@pytest.fixture(scope="package")
def push_mallory(push_proxy: ProxyProcess) -> PushPerson:
    return person_add(push_proxy, "mallory")
