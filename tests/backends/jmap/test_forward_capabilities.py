"""`using` with passthrough accounts (RFC 8620 §3.3, §3.6.1): a capability
alice's Cyrus account offers (MDN, Cyrus's vendor sieve capability) is
accepted and its methods reach Cyrus; the upstream only sees the capabilities it lists; a
capability nobody offers is still unknownCapability, and so is Cyrus's for bob,
whose pool has no passthrough account."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.backends.jmap.forward_people import CORE, MAIL, SIEVE, MixedPerson, by_call_id
from tests.jmapcore.apiclient import api_post, problem
from tests.personas import Persona

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]
CONTACTS = "urn:ietf:params:jmap:contacts"
MDN = "urn:ietf:params:jmap:mdn"
# Listed by Cyrus only when its non-standard JMAP extensions are on.
NONSTANDARD = "https://cyrusimap.org/ns/jmap/debug"


def test_a_method_only_the_upstream_has_is_forwarded_when_named_in_using(mixed_alice: MixedPerson) -> None:
    # MDN/parse (RFC 9007): the proxy has no such method, Cyrus does.
    response = mixed_alice.request([
        ["MDN/parse", {"accountId": mixed_alice.cyrus_id, "blobIds": []}, "p"],
    ], using=[CORE, MAIL, MDN])
    [(name, arguments, call_id)] = response["methodResponses"]
    assert (name, call_id) == ("MDN/parse", "p"), arguments
    assert arguments["accountId"] == mixed_alice.cyrus_id


def test_forwarded_calls_are_counted_with_bounded_labels(mixed_alice: MixedPerson) -> None:
    # A name the proxy has not registered is counted as "unknown": a client cannot mint label values.
    def count(method: str) -> float:
        return REGISTRY.get_sample_value("jmap_passthrough_calls_total", {"method": method}) or 0.0

    unknown_before, mailbox_before = count("unknown"), count("Mailbox/get")
    mixed_alice.request([
        ["MDN/parse", {"accountId": mixed_alice.cyrus_id, "blobIds": []}, "p"],
        ["Made/up-name-" + mixed_alice.cyrus_id, {"accountId": mixed_alice.cyrus_id}, "x"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": []}, "m"],
    ], using=[CORE, MAIL, MDN])
    assert count("unknown") - unknown_before == 2
    assert count("Mailbox/get") - mailbox_before == 1
    assert REGISTRY.get_sample_value("jmap_passthrough_calls_total", {"method": "MDN/parse"}) is None


def test_a_vendor_capability_of_the_upstream_is_accepted_in_using(mixed_alice: MixedPerson) -> None:
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": [], "properties": ["role"]}, "m"],
        ["Mailbox/get", {"accountId": mixed_alice.imap_id, "ids": []}, "local"],
    ], using=[CORE, MAIL, SIEVE])
    assert [name for name, _, _ in response["methodResponses"]] == ["Mailbox/get", "Mailbox/get"]


def test_a_vendor_method_of_the_upstream_is_forwarded(mixed_alice: MixedPerson) -> None:
    if NONSTANDARD not in mixed_alice.passthrough.upstream_session["capabilities"]:
        pytest.skip("this Cyrus serves its vendor JMAP methods (SieveScript/*) only with "
                    "jmap_nonstandard_extensions: yes, which tests/servers/cyrus.py does not set")
    response = mixed_alice.request([
        ["SieveScript/get", {"accountId": mixed_alice.cyrus_id, "ids": None}, "s"],
    ], using=[CORE, SIEVE])
    [(name, arguments, call_id)] = response["methodResponses"]
    assert (name, call_id) == ("SieveScript/get", "s"), arguments
    assert arguments["accountId"] == mixed_alice.cyrus_id


def test_the_upstream_checks_using_for_its_own_methods(mixed_alice: MixedPerson) -> None:
    # Not named in `using`: Cyrus answers unknownMethod, as RFC 8620 §3.6.2 asks.
    [(name, arguments, _)] = mixed_alice.request([
        ["SieveScript/get", {"accountId": mixed_alice.cyrus_id, "ids": None}, "s"],
    ], using=[CORE])["methodResponses"]
    assert name == "error" and arguments["type"] == "unknownMethod"


def test_the_upstream_sees_only_the_capabilities_it_lists(mixed_alice: MixedPerson) -> None:
    # The proxy serves contacts locally; Cyrus 3.6 does not list the IETF contacts URN and
    # would refuse the whole request for it: the proxy leaves it out of the upstream's `using`.
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": [], "properties": ["role"]}, "m"],
        ["MDN/parse", {"accountId": mixed_alice.cyrus_id, "blobIds": []}, "p"],
        ["Mailbox/get", {"accountId": mixed_alice.imap_id, "ids": []}, "local"],
    ], using=[CORE, MAIL, CONTACTS, SIEVE, MDN])
    answers = by_call_id(response)
    assert [answers[c][0] for c in ("m", "p", "local")] == ["Mailbox/get", "MDN/parse", "Mailbox/get"]


def test_a_capability_nobody_offers_is_unknown(mixed_alice: MixedPerson) -> None:
    answer = mixed_alice.post([["Core/echo", {}, "e"]], using=[CORE, "urn:example:nothing"])
    body = problem(answer, "unknownCapability")
    assert "urn:example:nothing" in body["detail"]


def test_the_upstream_capability_is_unknown_to_a_pool_without_passthrough(bob: Persona) -> None:
    from django.test import Client

    body = {"using": [CORE, SIEVE], "methodCalls": [["Core/echo", {}, "e"]]}
    problem(api_post(Client(), bob.basic, body), "unknownCapability")
