"""maxConcurrentRequests per login (RFC 8620 §2), exact in both modes: slots in
process memory (embedded: one web process) and in the shared cache (scale-out:
Redis; also the database cache), jmapcore.concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from pytest_django.fixtures import Settings

from jmapcore import concurrency
from jmapcore.concurrency import CacheSlots, LocalSlots, Slot, SlotStore, slot_acquire, slot_release, slot_store
from jmapcore.limits import LIMITS
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses, problem
from tests.personas import Persona


@pytest.fixture
def redis_cache(redis_url: str) -> Iterator[RedisCache]:
    """A Django RedisCache on the suite's redis-server (tests.servers.redis), as in scale-out."""
    redis = RedisCache(redis_url, {})
    redis.clear()
    yield redis
    redis.clear()
    redis.close()


@pytest.fixture(autouse=True)
def empty_slots(db: None) -> Iterator[None]:
    cache.clear()
    local = slot_store(concurrency.LOCAL)
    assert isinstance(local, LocalSlots)
    local.clear()
    yield
    local.clear()


@pytest.fixture(params=["local", "database-cache", "redis"])
def store(request: pytest.FixtureRequest) -> SlotStore:
    """Each implementation: the process-local one, and the cache one on both caches."""
    if request.param == "local":
        return LocalSlots()
    if request.param == "database-cache":
        return CacheSlots()  # the default cache: DatabaseCache in the test settings
    return CacheSlots(request.getfixturevalue("redis_cache"))


@pytest.fixture(params=["local", "database-cache"])
def mode(request: pytest.FixtureRequest, settings: Settings) -> str:
    """The API under each configured implementation (JMAP_CONCURRENCY_SLOTS)."""
    settings.JMAP_CONCURRENCY_SLOTS = concurrency.LOCAL if request.param == "local" else concurrency.CACHE
    return str(request.param)


def hold_all_slots(persona: Persona) -> list[Slot]:
    slots = [slot_acquire(scope="api", pool_id=persona.pool.pk, limit=LIMITS.maxConcurrentRequests)]
    while slots[-1] is not None:
        slots.append(slot_acquire(scope="api", pool_id=persona.pool.pk, limit=LIMITS.maxConcurrentRequests))
    held = [slot for slot in slots if slot is not None]
    assert len(held) == LIMITS.maxConcurrentRequests
    return held


def test_embedded_settings_use_local_slots() -> None:
    # The test settings are the embedded ones (no REDIS_URL, no DATABASE_URL).
    assert isinstance(slot_store(), LocalSlots)
    with pytest.raises(ValueError, match="JMAP_CONCURRENCY_SLOTS"):
        slot_store("elsewhere")


def test_request_over_the_limit_answers_limit(mode: str, jmap_client: Client, alice: Persona, bob: Persona) -> None:
    held = hold_all_slots(alice)
    response = api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"]))
    body = problem(response, "limit", status=429)
    assert body["limit"] == "maxConcurrentRequests"
    assert int(response["Retry-After"]) >= 1
    # Another login has slots of its own.
    assert method_responses(api_post(jmap_client, bob.basic, jmap_request(["Core/echo", {}, "c1"])))
    slot_release(slot=held[0])
    assert method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c1"])))


def test_requests_give_their_slot_back(mode: str, jmap_client: Client, alice: Persona) -> None:
    for _ in range(LIMITS.maxConcurrentRequests * 2):
        assert method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {}, "c"])))
    # Also after a request-level error inside the slot.
    for _ in range(LIMITS.maxConcurrentRequests * 2):
        assert api_post(jmap_client, alice.basic, b"{broken").status_code == 400
    assert len(hold_all_slots(alice)) == LIMITS.maxConcurrentRequests


def test_a_slot_is_released_by_the_store_that_gave_it(settings: Settings, alice: Persona) -> None:
    settings.JMAP_CONCURRENCY_SLOTS = concurrency.CACHE
    from_cache = slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1)
    settings.JMAP_CONCURRENCY_SLOTS = concurrency.LOCAL
    assert from_cache is not None
    slot_release(slot=from_cache)  # configuration changed meanwhile: still the cache's slot that is freed
    settings.JMAP_CONCURRENCY_SLOTS = concurrency.CACHE
    assert slot_acquire(scope="api", pool_id=alice.pool.pk, limit=1) is not None


def test_limit_and_release(store: SlotStore) -> None:
    held = [store.acquire(scope="api", pool_id=7, limit=3) for _ in range(3)]
    assert all(held)
    assert len({slot.key for slot in held if slot is not None}) == 3
    assert store.acquire(scope="api", pool_id=7, limit=3) is None
    assert store.acquire(scope="api", pool_id=8, limit=3) is not None  # another pool
    first = held[0]
    assert first is not None
    store.release(slot=first)
    store.release(slot=first)  # a second release frees nothing more
    again = store.acquire(scope="api", pool_id=7, limit=3)
    assert again is not None
    assert store.acquire(scope="api", pool_id=7, limit=3) is None


def test_scopes_are_separate(store: SlotStore) -> None:
    assert store.acquire(scope="api", pool_id=1, limit=1) is not None
    assert store.acquire(scope="upload", pool_id=1, limit=1) is not None
    assert store.acquire(scope="api", pool_id=1, limit=1) is None


def test_never_more_than_the_limit_at_once(store: SlotStore) -> None:
    """Threads racing for slots (stand-ins for processes sharing Redis): never over the limit."""
    if isinstance(store, CacheSlots) and not isinstance(store.cache, RedisCache):
        pytest.skip("the database cache in a test transaction is not shared between threads")
    limit, workers, rounds = 3, 8, 30
    holding, peak, lock = [0], [0], threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(rounds):
                slot = store.acquire(scope="api", pool_id=42, limit=limit)
                if slot is None:
                    continue
                with lock:
                    holding[0] += 1
                    peak[0] = max(peak[0], holding[0])
                time.sleep(0.001)
                with lock:
                    holding[0] -= 1
                store.release(slot=slot)
        except BaseException as exc:  # reported below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert 1 <= peak[0] <= limit
    # Everything was given back.
    assert all(store.acquire(scope="api", pool_id=42, limit=limit) for _ in range(limit))


@pytest.mark.parametrize("backend", ["database-cache", "redis"])
def test_slots_of_a_dead_process_expire(
    backend: str, request: pytest.FixtureRequest, alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CacheSlots() if backend == "database-cache" else CacheSlots(request.getfixturevalue("redis_cache"))
    monkeypatch.setattr(concurrency, "SLOT_TTL", 1)
    held = [store.acquire(scope="api", pool_id=alice.pool.pk, limit=2) for _ in range(2)]
    assert all(held)
    assert store.acquire(scope="api", pool_id=alice.pool.pk, limit=2) is None
    time.sleep(2.2)  # the holder "crashed": nobody releases (the DB cache counts whole seconds)
    assert store.acquire(scope="api", pool_id=alice.pool.pk, limit=2) is not None


@pytest.mark.parametrize("backend", ["database-cache", "redis"])
def test_release_after_expiry_does_not_free_the_new_holders_slot(
    backend: str, request: pytest.FixtureRequest, alice: Persona
) -> None:
    store = CacheSlots() if backend == "database-cache" else CacheSlots(request.getfixturevalue("redis_cache"))
    first = store.acquire(scope="api", pool_id=alice.pool.pk, limit=1)
    assert first is not None
    store.cache.delete(first.key)  # as if it expired
    second = store.acquire(scope="api", pool_id=alice.pool.pk, limit=1)
    assert second is not None and second.key == first.key
    store.release(slot=first)
    assert store.acquire(scope="api", pool_id=alice.pool.pk, limit=1) is None
    store.release(slot=second)
    assert store.acquire(scope="api", pool_id=alice.pool.pk, limit=1) is not None


def test_renewing_a_cache_slot_pushes_its_expiry_back(redis_cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CacheSlots(redis_cache)
    monkeypatch.setattr(concurrency, "SLOT_TTL", 2)
    slot = store.acquire(scope="upload", pool_id=5, limit=1)
    assert slot is not None
    time.sleep(1.2)
    store.renew(slot=slot)
    time.sleep(1.2)  # 2.4 s after taking it, but only 1.2 s after the renewal
    assert store.acquire(scope="upload", pool_id=5, limit=1) is None
