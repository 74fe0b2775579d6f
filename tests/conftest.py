"""Shared fixtures. Real servers (Dovecot, OpenBao, ...) live in tests/servers/,
one plugin module each, started on 127.0.0.1 by the suite itself."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

# CI (and `make test`, which sets JMAP_TEST_REQUIRE_SERVERS) runs every property
# test on the same derandomised examples, so a landing is judged on a fixed set
# and a failure there is reproducible; a developer's plain pytest run keeps
# drawing fresh examples and finds new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") or os.environ.get("JMAP_TEST_REQUIRE_SERVERS"):
    hypothesis_settings.load_profile("ci")

pytest_plugins = [
    "tests.servers.ports",
    "tests.servers.dovecot",
    "tests.servers.smtp",
    "tests.servers.openbao",
    "tests.servers.postgres",
    "tests.servers.redis",
    "tests.servers.proxy",
    "tests.servers.tcp_relay",
    "tests.servers.radicale",
    "tests.servers.xandikos",
    "tests.servers.cyrus",
    "tests.personas",
]


@pytest.fixture(autouse=True)
def local_slots_clear() -> Iterator[None]:
    """Process-local concurrency slots outlive a test's database: start every
    test with none held (jmapcore.concurrency.LocalSlots)."""
    from jmapcore.concurrency import LOCAL, slot_store

    store = slot_store(LOCAL)
    clear = getattr(store, "clear", None)
    if clear is not None:
        clear()
    yield
