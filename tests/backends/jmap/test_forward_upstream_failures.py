"""When the upstream fails, forwarded calls get JMAP errors and local calls
still run (RFC 8620 §3.6.2): Cyrus stopped (a relay in front of it, closed)
or the connection cut mid-request -> serverUnavailable; a stored password
Cyrus refuses -> forbidden, recorded on the account for the operator; an
upstream answer over JMAP_MAX_RESPONSE_SIZE -> an error, never a 500.
The shared Cyrus itself is never stopped."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from pytest_django.fixtures import Settings

from accounts.secret_fields import account_secret_set
from backends.jmap.client import upstream_clients_clear
from tests.backends.jmap.forward_people import MixedPerson, by_call_id, mixed_person
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer
from tests.servers.tcp_relay import TcpRelay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


@pytest.fixture
def relay(cyrus: CyrusServer, tcp_relay_factory: type[TcpRelay]) -> TcpRelay:
    return tcp_relay_factory(target_host=cyrus.host, target_port=cyrus.http_port)


@pytest.fixture
def alice_via_relay(dovecot: DovecotServer, cyrus: CyrusServer, relay: TcpRelay) -> MixedPerson:
    """alice's passthrough account reaches Cyrus only through `relay`."""
    person = mixed_person(name="alice", dovecot=dovecot, cyrus=cyrus,
                          session_url=f"http://127.0.0.1:{relay.port}/jmap")
    assert urlsplit(person.passthrough.upstream_session["apiUrl"]).port == relay.port
    return person


def _mixed_calls(person: MixedPerson) -> list[list[object]]:
    return [
        ["Mailbox/get", {"accountId": person.cyrus_id, "ids": None}, "up1"],
        ["Mailbox/query", {"accountId": person.cyrus_id}, "up2"],
        ["Mailbox/get", {"accountId": person.imap_id, "ids": None, "properties": ["role"]}, "local"],
    ]


def test_upstream_stopped_is_server_unavailable(alice_via_relay: MixedPerson, relay: TcpRelay) -> None:
    first = by_call_id(alice_via_relay.request(_mixed_calls(alice_via_relay)))
    assert first["up1"][0] == "Mailbox/get"
    relay.stop()
    response = alice_via_relay.request(_mixed_calls(alice_via_relay))
    assert [call_id for _, _, call_id in response["methodResponses"]] == ["up1", "up2", "local"]
    answers = by_call_id(response)
    for call_id in ("up1", "up2"):
        assert answers[call_id][0] == "error"
        assert answers[call_id][1]["type"] == "serverUnavailable", answers[call_id]
    assert answers["local"][0] == "Mailbox/get"


def test_an_unreachable_upstream_is_tried_once_per_request(alice_via_relay: MixedPerson, relay: TcpRelay) -> None:
    relay.stop()
    before = REGISTRY.get_sample_value("jmap_passthrough_requests_total", {"outcome": "failed"}) or 0.0
    response = alice_via_relay.request([
        ["Mailbox/get", {"accountId": alice_via_relay.cyrus_id, "ids": None}, "up1"],
        ["Core/echo", {}, "local"],
        ["Mailbox/query", {"accountId": alice_via_relay.cyrus_id}, "up2"],
    ])
    answers = by_call_id(response)
    assert answers["up1"][1]["type"] == answers["up2"][1]["type"] == "serverUnavailable"
    assert answers["local"] == ["Core/echo", {}]
    # The second batch did not wait for the dead upstream again.
    after = REGISTRY.get_sample_value("jmap_passthrough_requests_total", {"outcome": "failed"}) or 0.0
    assert after - before == 1


def test_connection_cut_mid_request_is_server_unavailable(alice_via_relay: MixedPerson, relay: TcpRelay) -> None:
    relay.cut_when(b"Mailbox/query")
    response = alice_via_relay.request(_mixed_calls(alice_via_relay))
    answers = by_call_id(response)
    assert relay.cuts >= 1
    assert answers["up1"][1]["type"] == answers["up2"][1]["type"] == "serverUnavailable"
    assert answers["local"][0] == "Mailbox/get"


def test_a_refused_password_is_forbidden_and_recorded(mixed_alice: MixedPerson) -> None:
    account_secret_set(account=mixed_alice.passthrough, field="password", value="not-alices-password")
    response = mixed_alice.request(_mixed_calls(mixed_alice))
    answers = by_call_id(response)
    for call_id in ("up1", "up2"):
        assert answers[call_id][0] == "error"
        assert answers[call_id][1]["type"] == "forbidden"
        assert "refused the stored credentials" in answers[call_id][1]["description"]
        assert "not-alices-password" not in answers[call_id][1]["description"]
    assert answers["local"][0] == "Mailbox/get"
    mixed_alice.passthrough.refresh_from_db()
    assert "refused the stored credentials" in mixed_alice.passthrough.last_sync_error
    assert mixed_alice.passthrough.last_sync_error_at is not None


def test_an_oversized_upstream_answer_is_an_error_not_a_crash(mixed_alice: MixedPerson, settings: Settings) -> None:
    # Room for the proxy's own small answers, not for Cyrus's full Mailbox/get.
    settings.JMAP_MAX_RESPONSE_SIZE = 400
    upstream_clients_clear()
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": None}, "big"],
        ["Core/echo", {"small": 1}, "after"],
    ])
    answers = by_call_id(response)
    assert answers["big"][0] == "error"
    assert answers["big"][1]["type"] in ("requestTooLarge", "serverFail"), answers["big"]
    assert answers["after"] == ["Core/echo", {"small": 1}]
