"""The scale-out change feed: with REDIS_URL every committed StateChange goes
through a channels_redis group per account, from whichever process wrote it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jmapcore.push.clients import QUIET_WAIT, PushPerson, eventsource, foreign_process_write, person_add
from tests.servers.proxy import ProxyProcess, proxy_running


@pytest.fixture(scope="module")
def redis_proxy(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ProxyProcess]:
    with proxy_running(tmp_path_factory.mktemp("push-redis-proxy"), extra_env={"REDIS_URL": redis_url}) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def carol(redis_proxy: ProxyProcess) -> PushPerson:
    return person_add(redis_proxy, "carol", extra_accounts=1)


@pytest.fixture(scope="module")
def dave(redis_proxy: ProxyProcess) -> PushPerson:
    return person_add(redis_proxy, "dave")


def test_api_write_through_redis(carol: PushPerson) -> None:
    with eventsource(carol) as stream:
        new_state = carol.identity_create(carol.account_ids[1])
        change = stream.next_state()
    assert change is not None
    assert change["changed"] == {carol.account_ids[1]: {"Identity": new_state}}


def test_other_process_write_through_redis(redis_proxy: ProxyProcess, redis_url: str, carol: PushPerson) -> None:
    with eventsource(carol, types="Mailbox") as stream:
        foreign_process_write(redis_proxy, carol.account_id, "Mailbox,Email", extra_env={"REDIS_URL": redis_url})
        change = stream.next_state()
    assert change is not None
    assert change["changed"] == {carol.account_id: {"Mailbox": change["changed"][carol.account_id]["Mailbox"]}}


def test_groups_are_per_account(redis_proxy: ProxyProcess, redis_url: str, carol: PushPerson, dave: PushPerson) -> None:
    with eventsource(dave) as stream:
        carol.identity_create()
        foreign_process_write(redis_proxy, carol.account_id, "Mailbox", extra_env={"REDIS_URL": redis_url})
        assert stream.next_state(timeout=QUIET_WAIT) is None
        dave.identity_create()
        change = stream.next_state()
    assert change is not None and set(change["changed"]) == {dave.account_id}
