"""maxConcurrentRequests per login, across processes via the shared cache (RFC 8620 §2)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from jmapcore import concurrency
from jmapcore.concurrency import Slot, slot_acquire, slot_release
from jmapcore.limits import LIMITS
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses, problem
from tests.personas import Persona


@pytest.fixture(autouse=True)
def empty_cache(db: None) -> None:
    cache.clear()


def hold_all_slots(persona: Persona) -> list[Slot]:
    slots = [slot_acquire(scope="api", pool_id=persona.pool.pk, limit=LIMITS.maxConcurrentRequests)]
    while slots[-1] is not None:
        slots.append(slot_acquire(scope="api", pool_id=persona.pool.pk, limit=LIMITS.maxConcurrentRequests))
    held = [slot for slot in slots if slot is not None]
    assert len(held) == LIMITS.maxConcurrentRequests
    return held


def test_request_over_the_limit_answers_limit(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    held = hold_all_slots(alice)
    response = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"]))
    body = problem(response, "limit", status=429)
    assert body["limit"] == "maxConcurrentRequests"
    assert int(response["Retry-After"]) >= 1
    # Another login has slots of its own.
    assert method_responses(api_post(jmap_client, bob.basic, jmap_request(["Core/echo", {}, "c1"])))
    slot_release(slot=held[0])
    assert method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"])))


def test_requests_give_their_slot_back(jmap_client: Client, alice: Persona) -> None:
    for _ in range(LIMITS.maxConcurrentRequests * 2):
        assert method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c"])))
    # Also after a request-level error inside the slot.
    for _ in range(LIMITS.maxConcurrentRequests * 2):
        assert api_post(jmap_client, alice.basic, b"{broken").status_code == 400
    assert len(hold_all_slots(alice)) == LIMITS.maxConcurrentRequests


def test_slots_of_a_dead_process_expire(alice: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concurrency, "SLOT_TTL", 1)
    held = [slot_acquire(scope="api", pool_id=alice.pool.pk, limit=2) for _ in range(2)]
    assert all(held)
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=2) is None
    time.sleep(2.2)  # the holder "crashed": nobody releases (the DB cache counts whole seconds)
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=2) is not None


def test_release_after_expiry_does_not_free_the_new_holders_slot(alice: Persona) -> None:
    first = slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1)
    assert first is not None
    cache.delete(first.key)  # as if it expired
    second = slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1)
    assert second is not None and second.key == first.key
    slot_release(slot=first)
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1) is None
    slot_release(slot=second)
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1) is not None


def test_scopes_are_separate(alice: Persona) -> None:
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1) is not None
    assert slot_acquire(scope="upload", pool_id=alice.pool.pk, limit=1) is not None
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1) is None
