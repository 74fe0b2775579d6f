"""Reading an upstream's type states with one request (RFC 8620 §5.1), for
upstreams that offer no usable push (issue 12 item 4).

Cyrus 3.6 answers its eventSourceUrl with 204; other servers may have none or
answer 404. While a client of the proxy listens, the relay
(backends.jmap.push_relay) then asks every POLL_SECONDS for the current
states: one upstream request holding a `Foo/get` with `ids: []` for each
data type each upstream account's capabilities carry (a /get with no ids
returns no objects but always the type's `state`, §5.1). The states are
compared with the previous answer and what moved is published.

A call the upstream refuses (unknownMethod, accountNotFound, forbidden …)
is not asked again for that account and type: the pair is returned in
`refused`, and the caller leaves it out from then on.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backends.jmap.client import UpstreamClient
from backends.jmap.targets import UpstreamTarget

CORE = "urn:ietf:params:jmap:core"
# Capability -> the data types whose state it defines (RFC 8621 §1.3.1-1.3.3,
# RFC 9610 §1.5, RFC 9425 §1.3, RFC 9661 §1.3, draft-ietf-jmap-calendars §1.4,
# and Cyrus's own contacts/calendars namespaces, which Cyrus 3.6 offers instead).
CAPABILITY_TYPES: dict[str, tuple[str, ...]] = {
    "urn:ietf:params:jmap:mail": ("Mailbox", "Email", "Thread"),
    "urn:ietf:params:jmap:submission": ("Identity", "EmailSubmission"),
    "urn:ietf:params:jmap:vacationresponse": ("VacationResponse",),
    "urn:ietf:params:jmap:contacts": ("AddressBook", "ContactCard"),
    "urn:ietf:params:jmap:calendars": ("Calendar", "CalendarEvent"),
    "urn:ietf:params:jmap:quota": ("Quota",),
    "urn:ietf:params:jmap:sieve": ("SieveScript",),
    "https://cyrusimap.org/ns/jmap/contacts": ("AddressBook", "Contact", "ContactGroup"),
    "https://cyrusimap.org/ns/jmap/calendars": ("Calendar", "CalendarEvent"),
}
# Bounds one poll request whatever an upstream's Session lists.
MAX_CALLS = 256
POLL_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class StateCall:
    call_id: str
    upstream_id: str
    type_name: str


def states_request(
    *, targets: Iterable[UpstreamTarget], refused: set[tuple[str, str]]
) -> tuple[dict[str, Any], list[StateCall]]:
    """The JMAP Request that reads every type state of `targets` (upstream ids), and its calls.

    A type is asked once per upstream account, under the first capability
    (in CAPABILITY_TYPES order) the account has that defines it; `refused`
    (upstream id, type) pairs are left out.
    """
    using: list[str] = [CORE]
    calls: list[StateCall] = []
    method_calls: list[list[Any]] = []
    for target in targets:
        asked: set[str] = set()
        for capability, type_names in CAPABILITY_TYPES.items():
            if capability not in target.capabilities:
                continue
            for type_name in type_names:
                if type_name in asked or (target.upstream_id, type_name) in refused or len(calls) >= MAX_CALLS:
                    continue
                asked.add(type_name)
                if capability not in using:
                    using.append(capability)
                call = StateCall(call_id=f"s{len(calls)}", upstream_id=target.upstream_id, type_name=type_name)
                calls.append(call)
                method_calls.append([f"{type_name}/get", {"accountId": target.upstream_id, "ids": []}, call.call_id])
    return {"using": using, "methodCalls": method_calls}, calls


def states_from_response(
    response: Mapping[str, Any], calls: list[StateCall]
) -> tuple[dict[str, dict[str, str]], set[tuple[str, str]]]:
    """(upstream id -> {type: state}, the (upstream id, type) pairs the upstream refused).

    A call whose answer is missing or malformed is neither: it is asked again next time.
    """
    by_id = {call.call_id: call for call in calls}
    states: dict[str, dict[str, str]] = {}
    refused: set[tuple[str, str]] = set()
    for item in response.get("methodResponses") or []:
        if not isinstance(item, list) or len(item) != 3 or not isinstance(item[1], dict):
            continue
        name, arguments, call_id = item
        call = by_id.get(call_id) if isinstance(call_id, str) else None
        if call is None:
            continue
        if name == "error":
            refused.add((call.upstream_id, call.type_name))
        elif name == f"{call.type_name}/get" and isinstance(arguments.get("state"), str):
            states.setdefault(call.upstream_id, {})[call.type_name] = arguments["state"]
    return states, refused


def upstream_states_poll(
    *, client: UpstreamClient, targets: list[UpstreamTarget], refused: set[tuple[str, str]]
) -> tuple[dict[str, dict[str, str]], set[tuple[str, str]]]:
    """One upstream request: the current states of every type of `targets` (see the module doc).

    Raises UpstreamError when the request fails as a whole.
    """
    request, calls = states_request(targets=targets, refused=refused)
    if not calls:
        return {}, set()
    return states_from_response(client.api_post(request, timeout=POLL_TIMEOUT_SECONDS), calls)
